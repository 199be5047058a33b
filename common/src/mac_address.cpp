#include "common/mac_address.h"

#include <stdexcept>

#include "common/detail/endian.h"
#include "common/detail/text.h"

namespace jitsu {

std::optional<mac_address> mac_address::parse(std::string_view text) {
    if (text.size() != string_length) return std::nullopt;
    const char separator = text[2];
    if (separator != ':' && separator != '-') return std::nullopt;
    std::array<std::uint8_t, size> bytes{};
    for (std::size_t i = 0; i < size; ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != separator) return std::nullopt;
        const int hi = detail::hex_digit_value(text[at]);
        const int lo = detail::hex_digit_value(text[at + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return mac_address(bytes);
}

mac_address mac_address::parse_or_throw(std::string_view text) {
    if (auto m = parse(text)) return *m;
    throw std::invalid_argument("invalid MAC address '" + std::string(text) +
                                "' (expected aa:bb:cc:dd:ee:ff)");
}

std::size_t mac_address::format_to(std::span<char> out) const {
    if (out.size() < string_length) return 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < size; ++i) {
        if (i > 0) out[at++] = ':';
        out[at++] = detail::lower_hex_digits[bytes_[i] >> 4];
        out[at++] = detail::lower_hex_digits[bytes_[i] & 0x0f];
    }
    return at;
}

std::string mac_address::to_string() const {
    std::string s(string_length, '\0');
    format_to(s);
    return s;
}

}  // namespace jitsu

std::size_t std::hash<jitsu::mac_address>::operator()(const jitsu::mac_address& m) const noexcept {
    std::uint64_t v = 0;
    for (std::uint8_t b : m.bytes()) v = (v << 8) | b;
    return static_cast<std::size_t>(jitsu::detail::mix64(v));
}
