#include "common/packet/udp.h"

#include "common/byte_io.h"
#include "common/checksum.h"
#include "common/detail/endian.h"
#include "common/packet/protocols.h"

namespace jitsu::packet {

std::optional<udp_view> udp_view::parse(std::span<const std::uint8_t> datagram) {
    if (datagram.size() < header_size) return std::nullopt;
    const std::size_t length = detail::load_be16(datagram.data() + 4);
    if (length < header_size || length > datagram.size()) return std::nullopt;
    return udp_view(datagram.first(length));
}

std::uint16_t udp_view::src_port() const { return detail::load_be16(datagram_.data()); }
std::uint16_t udp_view::dst_port() const { return detail::load_be16(datagram_.data() + 2); }
std::uint16_t udp_view::checksum() const { return detail::load_be16(datagram_.data() + 6); }

bool udp_view::checksum_valid(const ip_address& src, const ip_address& dst) const {
    if (src.is_v4() != dst.is_v4()) return false;
    if (checksum() == 0) return src.is_v4();
    return transport_checksum(src, dst, ip_protocol::udp, datagram_) == 0;
}

std::size_t build_udp_datagram(std::span<std::uint8_t> out, const udp_fields& f,
                               std::span<const std::uint8_t> payload, const ip_address& src,
                               const ip_address& dst) {
    if (src.is_v4() != dst.is_v4()) return 0;
    if (payload.size() > 0xffff - udp_view::header_size) return 0;
    byte_writer w(out);
    w.u16(f.src_port);
    w.u16(f.dst_port);
    w.u16(static_cast<std::uint16_t>(udp_view::header_size + payload.size()));
    w.u16(0);  // checksum, filled in below
    w.bytes(payload);
    if (w.failed()) return 0;
    std::uint16_t sum = transport_checksum(src, dst, ip_protocol::udp, w.data());
    if (sum == 0) sum = 0xffff;  // 0 would mean "no checksum"
    detail::store_be16(out.data() + 6, sum);
    return w.written();
}

}  // namespace jitsu::packet
