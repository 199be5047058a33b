#pragma once
// An IPv4 address, stored as a host-order uint32 (so ordering is numeric).

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace jitsu {

class ipv4_address {
  public:
    static constexpr std::size_t size = 4;
    // "255.255.255.255"
    static constexpr std::size_t max_string_length = 15;

    constexpr ipv4_address() = default;
    constexpr explicit ipv4_address(std::uint32_t host_order) : value_(host_order) {}
    constexpr ipv4_address(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d)
        : value_((std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) |
                 std::uint32_t{d}) {}

    // Four network-order bytes of a span the caller has already checked.
    static constexpr ipv4_address from_bytes(std::span<const std::uint8_t, size> b) {
        return ipv4_address(b[0], b[1], b[2], b[3]);
    }

    // Strict dotted quad: exactly four decimal octets 0..255 of 1-3 digits, no sign, no
    // whitespace, nothing before or after. Leading zeros ("010") are rejected because
    // inet_aton would read them as octal.
    static std::optional<ipv4_address> parse(std::string_view text);
    static ipv4_address parse_or_throw(std::string_view text);

    // The Xenstore path form: '-' instead of '.', e.g. "10-0-0-10". Same strictness.
    static std::optional<ipv4_address> from_xenstore(std::string_view text);
    std::string to_xenstore() const;

    // Dotted quad into `out`; returns the length, or 0 if `out` is too small.
    std::size_t format_to(std::span<char> out) const;
    std::string to_string() const;

    constexpr std::uint32_t to_uint() const { return value_; }
    constexpr std::array<std::uint8_t, size> bytes() const {
        return {static_cast<std::uint8_t>(value_ >> 24), static_cast<std::uint8_t>(value_ >> 16),
                static_cast<std::uint8_t>(value_ >> 8), static_cast<std::uint8_t>(value_)};
    }
    constexpr bool is_unspecified() const { return value_ == 0; }
    constexpr bool is_broadcast() const { return value_ == 0xffffffffU; }
    constexpr bool is_multicast() const { return (value_ >> 28) == 0xe; }

    constexpr auto operator<=>(const ipv4_address&) const = default;

  private:
    std::uint32_t value_ = 0;
};

}  // namespace jitsu

template <>
struct std::hash<jitsu::ipv4_address> {
    std::size_t operator()(const jitsu::ipv4_address& a) const noexcept;
};
