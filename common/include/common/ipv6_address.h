#pragma once
// An IPv6 address: sixteen network-order bytes.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/mac_address.h"

namespace jitsu {

class ipv6_address {
  public:
    static constexpr std::size_t size = 16;
    // Longest inet_ntop output ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").
    static constexpr std::size_t max_string_length = 45;
    // 8 groups of 4 hex digits joined by 7 '-'.
    static constexpr std::size_t xenstore_length = 39;

    constexpr ipv6_address() = default;
    constexpr explicit ipv6_address(const std::array<std::uint8_t, size>& bytes) : bytes_(bytes) {}

    static constexpr ipv6_address from_bytes(std::span<const std::uint8_t, size> b) {
        ipv6_address a;
        for (std::size_t i = 0; i < size; ++i) a.bytes_[i] = b[i];
        return a;
    }

    // Any form inet_pton(AF_INET6) accepts (no zone index "%eth0").
    static std::optional<ipv6_address> parse(std::string_view text);
    static ipv6_address parse_or_throw(std::string_view text);

    // The Xenstore path form: all 8 groups, 4 lowercase hex digits each, joined by '-',
    // e.g. "fe80-0000-0000-0000-0000-0000-0000-0001". from_xenstore accepts only this
    // canonical form, so one address has exactly one Xenstore node.
    static std::optional<ipv6_address> from_xenstore(std::string_view text);
    std::string to_xenstore() const;

    // RFC 5952 text (inet_ntop) into `out`; returns the length, or 0 if it does not fit.
    std::size_t format_to(std::span<char> out) const;
    std::string to_string() const;

    constexpr const std::array<std::uint8_t, size>& bytes() const { return bytes_; }
    constexpr bool is_unspecified() const { return *this == ipv6_address(); }
    constexpr bool is_multicast() const { return bytes_[0] == 0xff; }
    constexpr bool is_link_local() const { return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80; }

    // ff02::1:ffXX:XXXX, the group a Neighbour Solicitation for this address goes to.
    constexpr ipv6_address solicited_node_multicast() const {
        return ipv6_address({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, bytes_[13],
                             bytes_[14], bytes_[15]});
    }
    // The Ethernet address a multicast IPv6 address maps to: 33:33 + its last 4 bytes
    // (RFC 2464 §7). For a solicited-node group that is 33:33:ff:xx:xx:xx.
    constexpr mac_address multicast_mac() const {
        return mac_address({0x33, 0x33, bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
    }

    constexpr auto operator<=>(const ipv6_address&) const = default;

  private:
    std::array<std::uint8_t, size> bytes_{};
};

}  // namespace jitsu

template <>
struct std::hash<jitsu::ipv6_address> {
    std::size_t operator()(const jitsu::ipv6_address& a) const noexcept;
};
