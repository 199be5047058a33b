#include "common/ipv4_address.h"

#include <stdexcept>

#include "common/detail/endian.h"
#include "common/detail/text.h"

namespace jitsu {
namespace {

// Four decimal octets separated by `separator`; see ipv4_address::parse for the rules.
std::optional<ipv4_address> parse_quad(std::string_view text, char separator) {
    std::uint32_t value = 0;
    std::size_t at = 0;
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (at >= text.size() || text[at] != separator) return std::nullopt;
            ++at;
        }
        const std::size_t start = at;
        unsigned n = 0;
        while (at < text.size() && detail::is_decimal_digit(text[at]) && at - start < 3) {
            n = n * 10 + static_cast<unsigned>(text[at] - '0');
            ++at;
        }
        const std::size_t digits = at - start;
        if (digits == 0 || n > 255) return std::nullopt;
        if (digits > 1 && text[start] == '0') return std::nullopt;
        value = (value << 8) | n;
    }
    // A fourth digit in an octet stops the loop above and lands here as trailing junk.
    if (at != text.size()) return std::nullopt;
    return ipv4_address(value);
}

std::size_t format_quad(std::uint32_t value, char separator, std::span<char> out) {
    char buf[ipv4_address::max_string_length];
    std::size_t len = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        const unsigned octet = (value >> shift) & 0xff;
        if (shift != 24) buf[len++] = separator;
        if (octet >= 100) buf[len++] = static_cast<char>('0' + octet / 100);
        if (octet >= 10) buf[len++] = static_cast<char>('0' + (octet / 10) % 10);
        buf[len++] = static_cast<char>('0' + octet % 10);
    }
    if (out.size() < len) return 0;
    for (std::size_t i = 0; i < len; ++i) out[i] = buf[i];
    return len;
}

std::string quad_string(std::uint32_t value, char separator) {
    char buf[ipv4_address::max_string_length];
    const std::size_t len = format_quad(value, separator, buf);
    return std::string(buf, len);
}

}  // namespace

std::optional<ipv4_address> ipv4_address::parse(std::string_view text) {
    return parse_quad(text, '.');
}

ipv4_address ipv4_address::parse_or_throw(std::string_view text) {
    if (auto a = parse(text)) return *a;
    throw std::invalid_argument("invalid IPv4 address '" + std::string(text) +
                                "' (expected a dotted quad like 10.0.0.10)");
}

std::optional<ipv4_address> ipv4_address::from_xenstore(std::string_view text) {
    return parse_quad(text, '-');
}

std::string ipv4_address::to_xenstore() const { return quad_string(value_, '-'); }

std::size_t ipv4_address::format_to(std::span<char> out) const {
    return format_quad(value_, '.', out);
}

std::string ipv4_address::to_string() const { return quad_string(value_, '.'); }

}  // namespace jitsu

std::size_t std::hash<jitsu::ipv4_address>::operator()(
    const jitsu::ipv4_address& a) const noexcept {
    return static_cast<std::size_t>(jitsu::detail::mix64(a.to_uint()));
}
