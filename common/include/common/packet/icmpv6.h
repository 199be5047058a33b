#pragma once
// ICMPv6 (RFC 4443), with enough Neighbour Discovery (RFC 4861 §4.3, §4.4) for a proxy
// that answers Neighbour Solicitations for addresses it stands in for.
//
//   ICMPv6:  type(1) code(1) checksum(2) body...
//   NS:      reserved(4)        target(16) options...
//   NA:      R S O reserved(4)  target(16) options...
//   option:  type(1) length in 8-byte units(1) value...   (1 = source, 2 = target
//            link-layer address; for Ethernet, length 1 and a 6-byte MAC)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/ipv6_address.h"
#include "common/mac_address.h"

namespace jitsu::packet {

namespace icmpv6_type {
inline constexpr std::uint8_t echo_request = 128;
inline constexpr std::uint8_t echo_reply = 129;
inline constexpr std::uint8_t neighbor_solicitation = 135;
inline constexpr std::uint8_t neighbor_advertisement = 136;
}  // namespace icmpv6_type

class icmpv6_view {
  public:
    static constexpr std::size_t header_size = 4;

    static std::optional<icmpv6_view> parse(std::span<const std::uint8_t> message);

    std::uint8_t type() const { return message_[0]; }
    std::uint8_t code() const { return message_[1]; }
    std::uint16_t checksum() const;
    std::span<const std::uint8_t> body() const { return message_.subspan(header_size); }
    std::span<const std::uint8_t> bytes() const { return message_; }
    bool checksum_valid(const ipv6_address& src, const ipv6_address& dst) const;

  private:
    explicit icmpv6_view(std::span<const std::uint8_t> message) : message_(message) {}

    std::span<const std::uint8_t> message_;
};

// A Neighbour Solicitation or Advertisement. Parsing applies RFC 4861's length checks
// (code 0, at least 24 bytes, no option of length 0, none past the end); the hop limit
// of 255 and the checksum are the caller's to check, as they live in other layers.
class ndp_view {
  public:
    static constexpr std::size_t min_size = 24;

    // nullopt unless the message is a well-formed NS or NA.
    static std::optional<ndp_view> parse(const icmpv6_view& message);

    bool is_solicitation() const { return type_ == icmpv6_type::neighbor_solicitation; }
    bool is_advertisement() const { return type_ == icmpv6_type::neighbor_advertisement; }
    ipv6_address target() const;
    // NA flags (false for an NS).
    bool router_flag() const;
    bool solicited_flag() const;
    bool override_flag() const;
    // The first source / target link-layer address option holding a MAC.
    std::optional<mac_address> source_link_layer() const { return find_link_layer(1); }
    std::optional<mac_address> target_link_layer() const { return find_link_layer(2); }

  private:
    ndp_view(std::span<const std::uint8_t> message, std::uint8_t type)
        : message_(message), type_(type) {}
    std::optional<mac_address> find_link_layer(std::uint8_t option_type) const;

    std::span<const std::uint8_t> message_;
    std::uint8_t type_;
};

struct neighbor_solicitation_fields {
    ipv6_address target{};
    // Omitted when the source address is unspecified (duplicate address detection).
    std::optional<mac_address> source_link_layer{};
};

struct neighbor_advertisement_fields {
    ipv6_address target{};
    bool router = false;
    bool solicited = false;
    bool override_flag = true;
    std::optional<mac_address> target_link_layer{};
};

// The ICMPv6 message (header, body, link-layer option) with its checksum over the
// pseudo-header of src/dst. Return the length, or 0 if `out` is too small.
std::size_t build_neighbor_solicitation(std::span<std::uint8_t> out,
                                        const neighbor_solicitation_fields& fields,
                                        const ipv6_address& src, const ipv6_address& dst);
std::size_t build_neighbor_advertisement(std::span<std::uint8_t> out,
                                         const neighbor_advertisement_fields& fields,
                                         const ipv6_address& src, const ipv6_address& dst);

}  // namespace jitsu::packet
