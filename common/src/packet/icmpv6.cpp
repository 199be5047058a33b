#include "common/packet/icmpv6.h"

#include "common/byte_io.h"
#include "common/checksum.h"
#include "common/detail/endian.h"
#include "common/packet/protocols.h"

namespace jitsu::packet {
namespace {

constexpr std::uint8_t option_source_link_layer = 1;
constexpr std::uint8_t option_target_link_layer = 2;

// Options after the 24 fixed bytes: each a whole number (>= 1) of 8-byte units.
bool options_well_formed(std::span<const std::uint8_t> options) {
    std::size_t at = 0;
    while (at < options.size()) {
        if (options.size() - at < 2) return false;
        const std::size_t length = std::size_t{options[at + 1]} * 8;
        if (length == 0 || length > options.size() - at) return false;
        at += length;
    }
    return true;
}

std::size_t finish_ndp(byte_writer& w, std::span<std::uint8_t> out, const ipv6_address& src,
                       const ipv6_address& dst) {
    if (w.failed()) return 0;
    detail::store_be16(out.data() + 2, transport_checksum(src, dst, ip_protocol::icmpv6, w.data()));
    return w.written();
}

void write_link_layer_option(byte_writer& w, std::uint8_t type, const mac_address& mac) {
    w.u8(type);
    w.u8(1);  // one 8-byte unit: type, length, 6-byte MAC
    w.bytes(mac.bytes());
}

}  // namespace

std::optional<icmpv6_view> icmpv6_view::parse(std::span<const std::uint8_t> message) {
    if (message.size() < header_size) return std::nullopt;
    return icmpv6_view(message);
}

std::uint16_t icmpv6_view::checksum() const { return detail::load_be16(message_.data() + 2); }

bool icmpv6_view::checksum_valid(const ipv6_address& src, const ipv6_address& dst) const {
    return transport_checksum(src, dst, ip_protocol::icmpv6, message_) == 0;
}

std::optional<ndp_view> ndp_view::parse(const icmpv6_view& message) {
    const std::uint8_t type = message.type();
    if (type != icmpv6_type::neighbor_solicitation && type != icmpv6_type::neighbor_advertisement) {
        return std::nullopt;
    }
    const auto bytes = message.bytes();
    if (message.code() != 0 || bytes.size() < min_size) return std::nullopt;
    if (!options_well_formed(bytes.subspan(min_size))) return std::nullopt;
    return ndp_view(bytes, type);
}

ipv6_address ndp_view::target() const {
    return ipv6_address::from_bytes(message_.subspan<8, 16>());
}

bool ndp_view::router_flag() const { return is_advertisement() && (message_[4] & 0x80) != 0; }
bool ndp_view::solicited_flag() const { return is_advertisement() && (message_[4] & 0x40) != 0; }
bool ndp_view::override_flag() const { return is_advertisement() && (message_[4] & 0x20) != 0; }

std::optional<mac_address> ndp_view::find_link_layer(std::uint8_t option_type) const {
    // parse() checked that the options tile the rest of the message exactly.
    std::size_t at = min_size;
    while (at + 2 <= message_.size()) {
        const std::size_t length = std::size_t{message_[at + 1]} * 8;
        if (length == 0 || length > message_.size() - at) return std::nullopt;
        if (message_[at] == option_type && length >= 2 + mac_address::size) {
            return mac_address::from_bytes(message_.subspan(at + 2).first<mac_address::size>());
        }
        at += length;
    }
    return std::nullopt;
}

std::size_t build_neighbor_solicitation(std::span<std::uint8_t> out,
                                        const neighbor_solicitation_fields& f,
                                        const ipv6_address& src, const ipv6_address& dst) {
    byte_writer w(out);
    w.u8(icmpv6_type::neighbor_solicitation);
    w.u8(0);
    w.u16(0);  // checksum
    w.u32(0);  // reserved
    w.bytes(f.target.bytes());
    if (f.source_link_layer) {
        write_link_layer_option(w, option_source_link_layer, *f.source_link_layer);
    }
    return finish_ndp(w, out, src, dst);
}

std::size_t build_neighbor_advertisement(std::span<std::uint8_t> out,
                                         const neighbor_advertisement_fields& f,
                                         const ipv6_address& src, const ipv6_address& dst) {
    byte_writer w(out);
    w.u8(icmpv6_type::neighbor_advertisement);
    w.u8(0);
    w.u16(0);  // checksum
    w.u32((f.router ? 0x80000000U : 0U) | (f.solicited ? 0x40000000U : 0U) |
          (f.override_flag ? 0x20000000U : 0U));
    w.bytes(f.target.bytes());
    if (f.target_link_layer) {
        write_link_layer_option(w, option_target_link_layer, *f.target_link_layer);
    }
    return finish_ndp(w, out, src, dst);
}

}  // namespace jitsu::packet
