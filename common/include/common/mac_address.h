#pragma once
// An Ethernet MAC address: six bytes, value semantics.

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

class mac_address {
  public:
    static constexpr std::size_t size = 6;
    // "aa:bb:cc:dd:ee:ff"
    static constexpr std::size_t string_length = 17;

    constexpr mac_address() = default;
    constexpr explicit mac_address(const std::array<std::uint8_t, size>& bytes) : bytes_(bytes) {}

    // The first six bytes of a span the caller has already checked is long enough.
    static constexpr mac_address from_bytes(std::span<const std::uint8_t, size> bytes) {
        mac_address m;
        for (std::size_t i = 0; i < size; ++i) m.bytes_[i] = bytes[i];
        return m;
    }
    static constexpr mac_address broadcast() {
        return mac_address({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    }

    // Six groups of exactly two hex digits (either case) separated by all ':' or all '-'.
    static std::optional<mac_address> parse(std::string_view text);
    // For command lines and config files: throws std::invalid_argument naming the input.
    static mac_address parse_or_throw(std::string_view text);

    // Lowercase colon form into `out`; returns string_length, or 0 if `out` is too small.
    std::size_t format_to(std::span<char> out) const;
    std::string to_string() const;

    constexpr const std::array<std::uint8_t, size>& bytes() const { return bytes_; }
    constexpr bool is_broadcast() const { return *this == broadcast(); }
    // The I/G bit: group (multicast or broadcast) addresses.
    constexpr bool is_multicast() const { return (bytes_[0] & 0x01) != 0; }
    constexpr bool is_zero() const { return *this == mac_address(); }

    constexpr auto operator<=>(const mac_address&) const = default;

  private:
    std::array<std::uint8_t, size> bytes_{};
};

}  // namespace jitsu

template <>
struct std::hash<jitsu::mac_address> {
    std::size_t operator()(const jitsu::mac_address& m) const noexcept;
};
