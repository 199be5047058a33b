#pragma once
// The interface synjitsu sits on, as the kernel sees it (libnl-3 route): index, MAC,
// MTU, up/down, and change events on the Asio loop; and the one change synjitsu makes
// to its own namespace, a neighbour-cache hint for a VM it probes (host replay). Behind
// an interface so the live runner can be tested without netlink.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "common/ip_address.h"
#include "common/mac_address.h"

namespace jitsu::synjitsu {

struct link_info {
    int ifindex = 0;
    mac_address mac{};
    unsigned mtu = 0;
    bool up = false;  // administratively up and running (IFF_UP && IFF_RUNNING)
};

class link_monitor {
  public:
    using change_handler = std::function<void(const link_info&)>;
    virtual ~link_monitor() = default;
    // The link now, or nullopt if there is no such interface.
    virtual std::optional<link_info> query() = 0;
    // Calls `handler` on the loop for every change of the link (RTNLGRP_LINK).
    virtual void watch(change_handler handler) = 0;
    // Tells the kernel that `ip` is at `mac` on this interface, as an unconfirmed entry
    // (NUD_STALE, what it learns from a gratuitous ARP): a probe to a booting VM then
    // leaves at once instead of waiting for an ARP reply the VM cannot give yet (and up
    // to a second for the next ARP retry once it can). The kernel confirms or ages it
    // as usual. synjitsu answers ARP for these IPs with the same MAC anyway.
    virtual std::error_code hint_neighbour(const ip_address& ip, const mac_address& mac) = 0;
};

// libnl-3 implementation. Throws std::runtime_error if netlink cannot be opened.
std::unique_ptr<link_monitor> make_netlink_monitor(boost::asio::io_context& io,
                                                   std::string interface);

}  // namespace jitsu::synjitsu
