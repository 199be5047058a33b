#pragma once
// Character helpers shared by the parsers and formatters (locale-independent).

#include <cstdint>

namespace jitsu::detail {

inline constexpr char lower_hex_digits[] = "0123456789abcdef";

// 0..15 for a hex digit of either case, -1 otherwise.
constexpr int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

constexpr bool is_decimal_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace jitsu::detail
