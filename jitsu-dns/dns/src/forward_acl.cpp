#include "jitsu_dns/forward_acl.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace jitsu::dns {
namespace {

bool prefix_matches(const std::uint8_t* net, const std::uint8_t* addr, unsigned bits) noexcept {
    const unsigned whole = bits / 8;
    if (std::memcmp(net, addr, whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (net[whole] & mask) == (addr[whole] & mask);
}

// Zeroes the bits past the prefix, so "10.1.2.3/8" is stored as 10.0.0.0/8.
void clear_host_bits(ip_prefix& p) {
    const unsigned size = p.v6 ? 16 : 4;
    for (unsigned i = 0; i < size; ++i) {
        const unsigned first_bit = i * 8;
        if (first_bit >= p.length) {
            p.bytes[i] = 0;
        } else if (p.length - first_bit < 8) {
            p.bytes[i] &= static_cast<std::uint8_t>(0xFF << (8 - (p.length - first_bit)));
        }
    }
}

unsigned mask_length(const std::uint8_t* mask, unsigned size) {
    unsigned n = 0;
    for (unsigned i = 0; i < size; ++i) {
        for (int b = 7; b >= 0; --b) {
            if ((mask[i] >> b & 1) == 0) return n;
            ++n;
        }
    }
    return n;
}

}  // namespace

std::optional<ip_prefix> ip_prefix::parse(std::string_view text) {
    if (text.size() > 64) return std::nullopt;
    const auto slash = text.find('/');
    const std::string addr_text(text.substr(0, slash));
    boost::system::error_code ec;
    const auto addr = boost::asio::ip::make_address(addr_text, ec);
    if (ec) return std::nullopt;
    const unsigned max = addr.is_v6() ? 128 : 32;
    unsigned length = max;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        const auto [end, err] =
            std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (err != std::errc{} || end != digits.data() + digits.size() || length > max) {
            return std::nullopt;
        }
    }
    return of(addr, length);
}

ip_prefix ip_prefix::of(const boost::asio::ip::address& network, unsigned length) {
    ip_prefix p;
    if (network.is_v6()) {
        p.v6 = true;
        const auto b = network.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), p.bytes.begin());
        p.length = std::min(length, 128u);
    } else {
        const auto b = network.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), p.bytes.begin());
        p.length = std::min(length, 32u);
    }
    clear_host_bits(p);
    return p;
}

std::string ip_prefix::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
    return fmt::format("{}/{}", text, length);
}

bool forward_acl::allows(bool v6, const std::uint8_t* bytes) const noexcept {
    static constexpr std::uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (v6 && std::memcmp(bytes, v4_mapped, sizeof v4_mapped) == 0) {
        v6 = false;
        bytes += 12;
    }
    for (const auto& p : allowed_) {
        if (p.v6 == v6 && prefix_matches(p.bytes.data(), bytes, p.length)) return true;
    }
    return false;
}

bool forward_acl::allows(const sockaddr* addr, socklen_t len) const noexcept {
    if (addr == nullptr) return false;
    if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        return allows(false, reinterpret_cast<const std::uint8_t*>(&in->sin_addr));
    }
    if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        return allows(true, in6->sin6_addr.s6_addr);
    }
    return false;
}

bool forward_acl::allows(const boost::asio::ip::address& addr) const noexcept {
    if (addr.is_v4()) {
        const auto b = addr.to_v4().to_bytes();
        return allows(false, b.data());
    }
    const auto b = addr.to_v6().to_bytes();
    return allows(true, b.data());
}

std::vector<ip_prefix> local_networks() {
    std::vector<ip_prefix> out{*ip_prefix::parse("127.0.0.0/8"), *ip_prefix::parse("::1/128")};
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_netmask == nullptr) continue;
        ip_prefix p;
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            const auto* m = reinterpret_cast<const sockaddr_in*>(i->ifa_netmask);
            std::memcpy(p.bytes.data(), &a->sin_addr, 4);
            p.length = mask_length(reinterpret_cast<const std::uint8_t*>(&m->sin_addr), 4);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            const auto* m = reinterpret_cast<const sockaddr_in6*>(i->ifa_netmask);
            p.v6 = true;
            std::memcpy(p.bytes.data(), a->sin6_addr.s6_addr, 16);
            p.length = mask_length(m->sin6_addr.s6_addr, 16);
        } else {
            continue;
        }
        clear_host_bits(p);
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    ::freeifaddrs(list);
    return out;
}

bool is_local_address(const boost::asio::ip::address& addr) {
    if (addr.is_loopback()) return true;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return false;
    bool found = false;
    for (const ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
        if (i->ifa_addr == nullptr) continue;
        if (i->ifa_addr->sa_family == AF_INET && addr.is_v4()) {
            const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            found = std::memcmp(&a->sin_addr, addr.to_v4().to_bytes().data(), 4) == 0;
        } else if (i->ifa_addr->sa_family == AF_INET6 && addr.is_v6()) {
            const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            found = std::memcmp(a->sin6_addr.s6_addr, addr.to_v6().to_bytes().data(), 16) == 0;
        }
    }
    ::freeifaddrs(list);
    return found;
}

}  // namespace jitsu::dns
