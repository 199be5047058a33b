#include "common/ipv6_address.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

#include "common/detail/endian.h"
#include "common/detail/text.h"

namespace jitsu {

std::optional<ipv6_address> ipv6_address::parse(std::string_view text) {
    // inet_pton wants a NUL-terminated string; anything longer than the longest valid
    // form is invalid anyway, so a stack copy suffices.
    char buf[max_string_length + 1];
    if (text.empty() || text.size() > max_string_length) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    std::array<std::uint8_t, size> bytes{};
    if (::inet_pton(AF_INET6, buf, bytes.data()) != 1) return std::nullopt;
    return ipv6_address(bytes);
}

ipv6_address ipv6_address::parse_or_throw(std::string_view text) {
    if (auto a = parse(text)) return *a;
    throw std::invalid_argument("invalid IPv6 address '" + std::string(text) + "'");
}

std::optional<ipv6_address> ipv6_address::from_xenstore(std::string_view text) {
    if (text.size() != xenstore_length) return std::nullopt;
    std::array<std::uint8_t, size> bytes{};
    for (std::size_t group = 0; group < 8; ++group) {
        const std::size_t at = group * 5;
        if (group > 0 && text[at - 1] != '-') return std::nullopt;
        unsigned value = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            const char c = text[at + i];
            // Lowercase only: the canonical form is the only form.
            if (c >= 'A' && c <= 'F') return std::nullopt;
            const int digit = detail::hex_digit_value(c);
            if (digit < 0) return std::nullopt;
            value = (value << 4) | static_cast<unsigned>(digit);
        }
        bytes[group * 2] = static_cast<std::uint8_t>(value >> 8);
        bytes[group * 2 + 1] = static_cast<std::uint8_t>(value);
    }
    return ipv6_address(bytes);
}

std::string ipv6_address::to_xenstore() const {
    std::string s(xenstore_length, '-');
    for (std::size_t i = 0; i < size; ++i) {
        const std::size_t at = (i / 2) * 5 + (i % 2) * 2;
        s[at] = detail::lower_hex_digits[bytes_[i] >> 4];
        s[at + 1] = detail::lower_hex_digits[bytes_[i] & 0x0f];
    }
    return s;
}

std::size_t ipv6_address::format_to(std::span<char> out) const {
    char buf[INET6_ADDRSTRLEN];
    if (::inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf) == nullptr) return 0;
    const std::size_t len = std::strlen(buf);
    if (out.size() < len) return 0;
    std::memcpy(out.data(), buf, len);
    return len;
}

std::string ipv6_address::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    return std::string(buf, format_to(buf));
}

}  // namespace jitsu

std::size_t std::hash<jitsu::ipv6_address>::operator()(
    const jitsu::ipv6_address& a) const noexcept {
    const auto& b = a.bytes();
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        hi = (hi << 8) | b[i];
        lo = (lo << 8) | b[i + 8];
    }
    return static_cast<std::size_t>(jitsu::detail::hash_combine(jitsu::detail::mix64(hi), lo));
}
