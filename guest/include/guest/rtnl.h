#pragma once
// The few rtnetlink operations jitsu-netvm needs, over libnl-3 (no `ip` processes).
// One rtnl object = one NETLINK_ROUTE socket bound to the network namespace it was
// created in (rtnl::in(ns) creates it inside another one). Every operation is
// synchronous and waits for the kernel's ACK; failures throw std::runtime_error with
// "netlink: <operation>: <reason>" — they only happen while setting a VM up or down.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/ip_address.h"
#include "common/mac_address.h"

struct nl_sock;

namespace jitsu::guest {

class rtnl {
  public:
    // A socket in the caller's namespace.
    rtnl();
    // A socket inside the namespace of `netns_fd`.
    static rtnl in(int netns_fd);

    rtnl(rtnl&&) noexcept;
    rtnl& operator=(rtnl&&) noexcept;
    ~rtnl();

    // nullopt if there is no such interface.
    std::optional<int> ifindex(const std::string& name);
    int ifindex_or_throw(const std::string& name);
    // True if the interface is a Linux bridge.
    bool is_bridge(int ifindex);

    // Creates a veth pair: `name` here, `peer_name` with `peer_mac` moved straight into
    // the namespace `peer_netns_fd`. Both down.
    void create_veth(const std::string& name, const std::string& peer_name,
                     const mac_address& peer_mac, int peer_netns_fd);
    void set_up(int ifindex, bool up);
    // Enslaves to `master_ifindex` (a bridge); 0 releases.
    void set_master(int ifindex, int master_ifindex);
    // Deletes the interface (for a veth: both ends). ENODEV is not an error.
    void delete_link(int ifindex);
    // Never throws: false if it failed (cleanup paths).
    bool delete_link_noexcept(int ifindex) noexcept;

    void add_address(int ifindex, const ip_address& ip, int prefix_length);
    // Default route of `gateway`'s family via `gateway` out of interface `ifindex`. The
    // interface is named because an IPv6 router is usually known by its link-local
    // address (fe80::/10), which the kernel accepts as a next hop only with one.
    void add_default_route(const ip_address& gateway, int ifindex);
    // A REACHABLE neighbour entry ip -> mac on the interface (created or replaced), so
    // the first packet to `ip` needs no ARP/ND.
    void set_neighbour(int ifindex, const ip_address& ip, const mac_address& mac);

  private:
    explicit rtnl(nl_sock* sock);
    struct sock_deleter {
        void operator()(nl_sock* s) const;
    };
    std::unique_ptr<nl_sock, sock_deleter> sock_;
};

// Whether `a` and `b` share the first `prefix_length` bits (same family only).
bool same_subnet(const ip_address& a, const ip_address& b, int prefix_length);

}  // namespace jitsu::guest
