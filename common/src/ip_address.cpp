#include "common/ip_address.h"

#include <stdexcept>

#include "common/detail/endian.h"

namespace jitsu {

std::optional<ip_address> ip_address::parse(std::string_view text) {
    if (text.find(':') != std::string_view::npos) {
        if (auto v6 = ipv6_address::parse(text)) return ip_address(*v6);
        return std::nullopt;
    }
    if (auto v4 = ipv4_address::parse(text)) return ip_address(*v4);
    return std::nullopt;
}

ip_address ip_address::parse_or_throw(std::string_view text) {
    if (auto a = parse(text)) return *a;
    throw std::invalid_argument("invalid IP address '" + std::string(text) + "'");
}

std::optional<ip_address> ip_address::from_xenstore(std::string_view text) {
    // The two forms cannot be confused: IPv6 is exactly 39 characters of 8 groups.
    if (text.size() == ipv6_address::xenstore_length) {
        if (auto v6 = ipv6_address::from_xenstore(text)) return ip_address(*v6);
        return std::nullopt;
    }
    if (auto v4 = ipv4_address::from_xenstore(text)) return ip_address(*v4);
    return std::nullopt;
}

std::string ip_address::to_xenstore() const {
    return std::visit([](const auto& a) { return a.to_xenstore(); }, value_);
}

std::size_t ip_address::format_to(std::span<char> out) const {
    return std::visit([out](const auto& a) { return a.format_to(out); }, value_);
}

std::string ip_address::to_string() const {
    return std::visit([](const auto& a) { return a.to_string(); }, value_);
}

std::string four_tuple::to_string() const {
    // Built with append: GCC 12 gives a false -Wrestrict on "[" + s + "]" at -O3.
    std::string s;
    auto endpoint = [&s](const ip_address& ip, std::uint16_t port) {
        char buf[ip_address::max_string_length];
        const std::string_view text(buf, ip.format_to(buf));
        if (ip.is_v6())
            s.append(1, '[').append(text).append(1, ']');
        else
            s.append(text);
        s.append(1, ':').append(std::to_string(port));
    };
    endpoint(local_ip, local_port);
    s.append("<-");
    endpoint(remote_ip, remote_port);
    return s;
}

}  // namespace jitsu

std::size_t std::hash<jitsu::ip_address>::operator()(const jitsu::ip_address& a) const noexcept {
    if (const auto* v4 = a.if_v4()) return std::hash<jitsu::ipv4_address>{}(*v4);
    // Distinguish the families even if some v4 and v6 hashes collided by chance.
    return static_cast<std::size_t>(
        jitsu::detail::hash_combine(6, std::hash<jitsu::ipv6_address>{}(a.v6())));
}

std::size_t std::hash<jitsu::four_tuple>::operator()(const jitsu::four_tuple& t) const noexcept {
    std::uint64_t h = std::hash<jitsu::ip_address>{}(t.local_ip);
    h = jitsu::detail::hash_combine(h, std::hash<jitsu::ip_address>{}(t.remote_ip));
    h = jitsu::detail::hash_combine(h, (std::uint64_t{t.local_port} << 16) | t.remote_port);
    return static_cast<std::size_t>(h);
}
