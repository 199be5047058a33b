#pragma once
// Who may have names outside our zones forwarded (recursion): a short list of address
// prefixes. jitsu-dns is an authoritative server first; forwarding for anyone who asks
// makes it an open resolver (amplification, cache snooping), so the daemon allows by
// default only loopback and the networks of its own interfaces (--allow-forward
// replaces that list). Everyone else gets REFUSED for names outside the zones.
//
// Matching is a walk over a handful of prefixes, no allocation: it runs per query.

#include <sys/socket.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jitsu::dns {

struct ip_prefix {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // v4: the first 4
    unsigned length = 0;                   // bits

    // "A.B.C.D/N", "X::Y/N", or an address alone (a host). nullopt if malformed.
    static std::optional<ip_prefix> parse(std::string_view text);
    static ip_prefix of(const boost::asio::ip::address& network, unsigned length);
    std::string to_string() const;
    bool operator==(const ip_prefix&) const = default;
};

class forward_acl {
  public:
    forward_acl() = default;  // allows no one
    explicit forward_acl(std::vector<ip_prefix> allowed) : allowed_(std::move(allowed)) {}

    // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched as IPv4.
    bool allows(const sockaddr* addr, socklen_t len) const noexcept;
    bool allows(const boost::asio::ip::address& addr) const noexcept;
    const std::vector<ip_prefix>& prefixes() const { return allowed_; }

  private:
    bool allows(bool v6, const std::uint8_t* bytes) const noexcept;
    std::vector<ip_prefix> allowed_;
};

// Loopback and the networks of this network namespace's interfaces (getifaddrs): the
// default --allow-forward list.
std::vector<ip_prefix> local_networks();
// Whether `addr` is one of this namespace's own addresses (loopback included).
bool is_local_address(const boost::asio::ip::address& addr);

}  // namespace jitsu::dns
