#include "common/replay_frame.h"

#include <algorithm>

#include "common/checksum.h"
#include "common/detail/endian.h"
#include "common/packet/frame.h"
#include "common/packet/protocols.h"

namespace jitsu {

std::optional<std::vector<std::uint8_t>> replay_frame(const queued_syn& syn,
                                                      const mac_address& vm_mac) {
    std::vector<std::uint8_t> frame = syn.frame;
    const auto parsed = packet::parse_frame(frame);
    if (!parsed || !parsed->tcp) return std::nullopt;
    const auto src = parsed->src_ip();
    const auto dst = parsed->dst_ip();
    if (!src || !dst) return std::nullopt;
    // Offsets into `frame` of the layers the parse found (views point into it).
    const auto offset_of = [&](std::span<const std::uint8_t> part) {
        return static_cast<std::size_t>(part.data() - frame.data());
    };
    const std::size_t tcp_at = offset_of(parsed->tcp->bytes());
    const std::size_t tcp_length = parsed->tcp->bytes().size();
    std::optional<std::size_t> ip_at;
    std::size_t ip_header_length = 0;
    if (parsed->ipv4) {
        ip_at = offset_of(parsed->ipv4->bytes());
        ip_header_length = parsed->ipv4->header_length();
    }

    std::copy(vm_mac.bytes().begin(), vm_mac.bytes().end(), frame.begin());
    if (ip_at) {
        const std::span<const std::uint8_t> header(frame.data() + *ip_at, ip_header_length);
        detail::store_be16(frame.data() + *ip_at + 10, ipv4_header_checksum(header));
    }
    detail::store_be16(frame.data() + tcp_at + 16, 0);
    const std::span<const std::uint8_t> segment(frame.data() + tcp_at, tcp_length);
    detail::store_be16(frame.data() + tcp_at + 16,
                       transport_checksum(*src, *dst, packet::ip_protocol::tcp, segment));
    return frame;
}

}  // namespace jitsu
