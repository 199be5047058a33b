#include "common/packet/ipv6.h"

#include "common/byte_io.h"
#include "common/detail/endian.h"
#include "common/packet/protocols.h"

namespace jitsu::packet {

std::optional<ipv6_view> ipv6_view::parse(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < header_size) return std::nullopt;
    if ((bytes[0] >> 4) != 6) return std::nullopt;
    const std::size_t payload_length = detail::load_be16(bytes.data() + 4);
    if (payload_length > bytes.size() - header_size) return std::nullopt;
    ipv6_view view(bytes.first(header_size + payload_length));
    view.walk_extension_headers();
    return view;
}

void ipv6_view::walk_extension_headers() {
    std::uint8_t next = next_header();
    std::size_t offset = header_size;
    for (int i = 0; i <= max_extension_headers; ++i) {
        switch (next) {
            case ip_protocol::hop_by_hop:
            case ip_protocol::routing:
            case ip_protocol::destination_options: {
                // next header(1), length in 8-byte units not counting the first 8 (1), ...
                if (packet_.size() - offset < 8) return;
                const std::size_t length = (std::size_t{packet_[offset + 1]} + 1) * 8;
                if (packet_.size() - offset < length) return;
                next = packet_[offset];
                offset += length;
                break;
            }
            case ip_protocol::fragment: {
                // next header(1), reserved(1), offset:13 res:2 M:1 (2), identification(4)
                if (packet_.size() - offset < 8) return;
                fragment_ = true;
                if ((detail::load_be16(packet_.data() + offset + 2) & 0xfff8) != 0) return;
                next = packet_[offset];
                offset += 8;
                break;
            }
            case ip_protocol::no_next_header:
                return;
            default:
                l4_protocol_ = next;
                l4_offset_ = offset;
                has_l4_ = true;
                return;
        }
    }
}

std::uint8_t ipv6_view::traffic_class() const {
    return static_cast<std::uint8_t>((detail::load_be16(packet_.data()) >> 4) & 0xff);
}

std::uint32_t ipv6_view::flow_label() const {
    return detail::load_be32(packet_.data()) & 0x000fffff;
}

ipv6_address ipv6_view::src() const { return ipv6_address::from_bytes(packet_.subspan<8, 16>()); }

ipv6_address ipv6_view::dst() const { return ipv6_address::from_bytes(packet_.subspan<24, 16>()); }

std::optional<std::uint8_t> ipv6_view::l4_protocol() const {
    if (!has_l4_) return std::nullopt;
    return l4_protocol_;
}

std::optional<std::span<const std::uint8_t>> ipv6_view::l4_payload() const {
    if (!has_l4_) return std::nullopt;
    return packet_.subspan(l4_offset_);
}

std::size_t build_ipv6_header(std::span<std::uint8_t> out, const ipv6_fields& f,
                              std::size_t payload_length) {
    if (payload_length > 0xffff) return 0;
    byte_writer w(out);
    w.u32((std::uint32_t{6} << 28) | (std::uint32_t{f.traffic_class} << 20) |
          (f.flow_label & 0x000fffff));
    w.u16(static_cast<std::uint16_t>(payload_length));
    w.u8(f.next_header);
    w.u8(f.hop_limit);
    w.bytes(f.src.bytes());
    w.bytes(f.dst.bytes());
    return w.failed() ? 0 : w.written();
}

}  // namespace jitsu::packet
