#include "common/hex.h"

#include "common/detail/text.h"

namespace jitsu {

std::size_t hex_encode(std::span<const std::uint8_t> in, std::span<char> out) {
    if (out.size() / 2 < in.size()) return 0;
    std::size_t at = 0;
    for (std::uint8_t b : in) {
        out[at++] = detail::lower_hex_digits[b >> 4];
        out[at++] = detail::lower_hex_digits[b & 0x0f];
    }
    return at;
}

std::string to_hex(std::span<const std::uint8_t> in) {
    std::string s(in.size() * 2, '\0');
    hex_encode(in, s);
    return s;
}

std::optional<std::size_t> hex_decode(std::string_view text, std::span<std::uint8_t> out) {
    if (text.size() % 2 != 0 || out.size() < text.size() / 2) return std::nullopt;
    // Validate first so a bad digit leaves `out` untouched.
    for (char c : text) {
        if (detail::hex_digit_value(c) < 0) return std::nullopt;
    }
    for (std::size_t i = 0; i < text.size() / 2; ++i) {
        const int hi = detail::hex_digit_value(text[2 * i]);
        const int lo = detail::hex_digit_value(text[2 * i + 1]);
        out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return text.size() / 2;
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text) {
    if (text.size() % 2 != 0) return std::nullopt;
    std::vector<std::uint8_t> bytes(text.size() / 2);
    if (!hex_decode(text, bytes)) return std::nullopt;
    return bytes;
}

}  // namespace jitsu
