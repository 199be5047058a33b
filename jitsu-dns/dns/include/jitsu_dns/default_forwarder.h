#pragma once
// The default upstream for names outside our zones: the first `nameserver` line of
// resolv.conf (what the original Jitsu used), on `port`.

#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace jitsu::dns {

// nullopt if the file cannot be read or has no usable nameserver line (an address
// inet_pton accepts; a link-local IPv6 with a zone "%eth0" is used with its scope id).
// A nameserver of 0.0.0.0 or :: counts as none (forwarding disabled).
std::optional<boost::asio::ip::udp::endpoint> default_forwarder(
    const std::string& resolv_conf = "/etc/resolv.conf", std::uint16_t port = 53);

}  // namespace jitsu::dns
