#pragma once
// ip_address: an IPv4 or IPv6 address, for code that handles both families alike
// (Xenstore paths, connection keys, the TCP/UDP pseudo-header).

#include <compare>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/ipv4_address.h"
#include "common/ipv6_address.h"

namespace jitsu {

class ip_address {
  public:
    static constexpr std::size_t max_string_length = ipv6_address::max_string_length;

    // 0.0.0.0
    constexpr ip_address() = default;
    constexpr ip_address(const ipv4_address& v4) : value_(v4) {}  // NOLINT: implicit by design
    constexpr ip_address(const ipv6_address& v6) : value_(v6) {}  // NOLINT: implicit by design

    // Text containing ':' is IPv6, anything else IPv4 (each parsed strictly).
    static std::optional<ip_address> parse(std::string_view text);
    static ip_address parse_or_throw(std::string_view text);
    // "10-0-0-10" or "fe80-0000-...-0001" (see ipv4_address / ipv6_address).
    static std::optional<ip_address> from_xenstore(std::string_view text);
    std::string to_xenstore() const;

    std::size_t format_to(std::span<char> out) const;
    std::string to_string() const;

    constexpr bool is_v4() const { return std::holds_alternative<ipv4_address>(value_); }
    constexpr bool is_v6() const { return std::holds_alternative<ipv6_address>(value_); }
    // Only when is_v4() / is_v6() respectively (throws std::bad_variant_access otherwise).
    constexpr const ipv4_address& v4() const { return std::get<ipv4_address>(value_); }
    constexpr const ipv6_address& v6() const { return std::get<ipv6_address>(value_); }
    // Non-throwing accessors.
    constexpr const ipv4_address* if_v4() const { return std::get_if<ipv4_address>(&value_); }
    constexpr const ipv6_address* if_v6() const { return std::get_if<ipv6_address>(&value_); }

    // All IPv4 addresses order before all IPv6 addresses.
    constexpr auto operator<=>(const ip_address&) const = default;

  private:
    std::variant<ipv4_address, ipv6_address> value_;
};

// A TCP/UDP connection as seen from our side (the VM's): the VM's address and port,
// the client's address and port.
struct four_tuple {
    ip_address local_ip{};
    std::uint16_t local_port = 0;
    ip_address remote_ip{};
    std::uint16_t remote_port = 0;

    // "10.0.0.10:80<-10.0.0.1:43210", IPv6 in brackets.
    std::string to_string() const;

    constexpr auto operator<=>(const four_tuple&) const = default;
};

}  // namespace jitsu

template <>
struct std::hash<jitsu::ip_address> {
    std::size_t operator()(const jitsu::ip_address& a) const noexcept;
};

template <>
struct std::hash<jitsu::four_tuple> {
    std::size_t operator()(const jitsu::four_tuple& t) const noexcept;
};
