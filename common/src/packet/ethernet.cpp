#include "common/packet/ethernet.h"

#include "common/byte_io.h"
#include "common/detail/endian.h"
#include "common/packet/protocols.h"

namespace jitsu::packet {

std::optional<ethernet_view> ethernet_view::parse(std::span<const std::uint8_t> frame) {
    if (frame.size() < header_size) return std::nullopt;
    if (detail::load_be16(frame.data() + 12) != ethertype::vlan) {
        return ethernet_view(frame, header_size);
    }
    if (frame.size() < header_size + vlan_tag_size) return std::nullopt;
    return ethernet_view(frame, header_size + vlan_tag_size);
}

mac_address ethernet_view::dst() const { return mac_address::from_bytes(frame_.first<6>()); }

mac_address ethernet_view::src() const { return mac_address::from_bytes(frame_.subspan<6, 6>()); }

std::uint16_t ethernet_view::ethertype() const {
    return detail::load_be16(frame_.data() + header_length_ - 2);
}

std::optional<std::uint16_t> ethernet_view::vlan_tci() const {
    if (header_length_ == header_size) return std::nullopt;
    return detail::load_be16(frame_.data() + 14);
}

std::optional<std::uint16_t> ethernet_view::vlan_id() const {
    if (auto tci = vlan_tci()) return static_cast<std::uint16_t>(*tci & 0x0fff);
    return std::nullopt;
}

std::size_t build_ethernet_header(std::span<std::uint8_t> out, const ethernet_fields& fields,
                                  std::uint16_t type) {
    byte_writer w(out);
    w.bytes(fields.dst.bytes());
    w.bytes(fields.src.bytes());
    if (fields.vlan_tci) {
        w.u16(ethertype::vlan);
        w.u16(*fields.vlan_tci);
    }
    w.u16(type);
    return w.failed() ? 0 : w.written();
}

}  // namespace jitsu::packet
