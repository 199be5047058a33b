#include "common/packet/ipv4.h"

#include "common/byte_io.h"
#include "common/checksum.h"
#include "common/detail/endian.h"

namespace jitsu::packet {

std::optional<ipv4_view> ipv4_view::parse(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < min_header_size) return std::nullopt;
    if ((bytes[0] >> 4) != 4) return std::nullopt;
    const std::size_t header_length = std::size_t{bytes[0] & 0x0fu} * 4;
    const std::size_t total_length = detail::load_be16(bytes.data() + 2);
    if (header_length < min_header_size || total_length < header_length ||
        total_length > bytes.size()) {
        return std::nullopt;
    }
    return ipv4_view(bytes.first(total_length), header_length);
}

std::uint16_t ipv4_view::identification() const { return detail::load_be16(packet_.data() + 4); }

std::uint16_t ipv4_view::fragment_offset() const {
    return detail::load_be16(packet_.data() + 6) & 0x1fff;
}

std::uint16_t ipv4_view::header_checksum() const { return detail::load_be16(packet_.data() + 10); }

bool ipv4_view::header_checksum_valid() const {
    return checksum(packet_.first(header_length_)) == 0;
}

ipv4_address ipv4_view::src() const { return ipv4_address::from_bytes(packet_.subspan<12, 4>()); }

ipv4_address ipv4_view::dst() const { return ipv4_address::from_bytes(packet_.subspan<16, 4>()); }

std::span<const std::uint8_t> ipv4_view::options() const {
    return packet_.subspan(min_header_size, header_length_ - min_header_size);
}

std::optional<std::span<const std::uint8_t>> ipv4_view::l4_payload() const {
    if (fragment_offset() != 0) return std::nullopt;
    return payload();
}

std::size_t build_ipv4_header(std::span<std::uint8_t> out, const ipv4_fields& f,
                              std::size_t payload_length) {
    if (payload_length > 0xffff - ipv4_view::min_header_size) return 0;
    const auto total = static_cast<std::uint16_t>(ipv4_view::min_header_size + payload_length);
    byte_writer w(out);
    w.u8(0x45);
    w.u8(f.tos);
    w.u16(total);
    w.u16(f.identification);
    w.u16(f.dont_fragment ? 0x4000 : 0);
    w.u8(f.ttl);
    w.u8(f.protocol);
    w.u16(0);  // checksum, filled in below
    w.bytes(f.src.bytes());
    w.bytes(f.dst.bytes());
    if (w.failed()) return 0;
    detail::store_be16(out.data() + 10, ipv4_header_checksum(w.data()));
    return w.written();
}

}  // namespace jitsu::packet
