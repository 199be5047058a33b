#include "guest/rtnl.h"

#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "guest/netns.h"

namespace jitsu::guest {

namespace {

[[noreturn]] void fail(const std::string& what, int nl_err) {
    throw std::runtime_error("netlink: " + what + ": " + nl_geterror(nl_err));
}

template <class T, void (*Free)(T*)>
struct nl_ptr {
    T* p;
    explicit nl_ptr(T* ptr, const char* what) : p(ptr) {
        if (p == nullptr)
            throw std::runtime_error(std::string("netlink: out of memory (") + what + ")");
    }
    ~nl_ptr() {
        if (p != nullptr) Free(p);
    }
    nl_ptr(nl_ptr&& other) noexcept : p(std::exchange(other.p, nullptr)) {}
    nl_ptr& operator=(nl_ptr&&) = delete;
    nl_ptr(const nl_ptr&) = delete;
    nl_ptr& operator=(const nl_ptr&) = delete;
    T* get() const { return p; }
};

void free_link(rtnl_link* l) { rtnl_link_put(l); }
void free_addr(nl_addr* a) { nl_addr_put(a); }
void free_raddr(rtnl_addr* a) { rtnl_addr_put(a); }
void free_route(rtnl_route* r) { rtnl_route_put(r); }
void free_neigh(rtnl_neigh* n) { rtnl_neigh_put(n); }

using link_ptr = nl_ptr<rtnl_link, free_link>;
using addr_ptr = nl_ptr<nl_addr, free_addr>;
using raddr_ptr = nl_ptr<rtnl_addr, free_raddr>;
using route_ptr = nl_ptr<rtnl_route, free_route>;
using neigh_ptr = nl_ptr<rtnl_neigh, free_neigh>;

nl_addr* make_ip(const ip_address& ip) {
    if (const auto* v4 = ip.if_v4()) {
        const auto b = v4->bytes();
        return nl_addr_build(AF_INET, b.data(), b.size());
    }
    const auto& b = ip.v6().bytes();
    return nl_addr_build(AF_INET6, b.data(), b.size());
}

nl_addr* make_mac(const mac_address& mac) {
    return nl_addr_build(AF_LLC, mac.bytes().data(), mac.bytes().size());
}

int family_of(const ip_address& ip) { return ip.is_v4() ? AF_INET : AF_INET6; }

// A link object carrying only the ifindex: the "original" for rtnl_link_change.
link_ptr link_ref(int ifindex) {
    link_ptr l(rtnl_link_alloc(), "link");
    rtnl_link_set_ifindex(l.get(), ifindex);
    return l;
}

}  // namespace

void rtnl::sock_deleter::operator()(nl_sock* s) const { nl_socket_free(s); }

rtnl::rtnl(nl_sock* sock) : sock_(sock) {}

rtnl::rtnl() {
    nl_sock* s = nl_socket_alloc();
    if (s == nullptr) throw std::runtime_error("netlink: cannot allocate a socket");
    sock_.reset(s);
    if (const int err = nl_connect(s, NETLINK_ROUTE); err < 0) fail("connect", err);
}

rtnl rtnl::in(int netns_fd) {
    std::optional<rtnl> made;
    in_netns(netns_fd, [&] { made.emplace(); });
    return std::move(*made);
}

rtnl::rtnl(rtnl&&) noexcept = default;
rtnl& rtnl::operator=(rtnl&&) noexcept = default;
rtnl::~rtnl() = default;

std::optional<int> rtnl::ifindex(const std::string& name) {
    rtnl_link* l = nullptr;
    const int err = rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &l);
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return std::nullopt;
    if (err < 0) fail("get link " + name, err);
    const int index = rtnl_link_get_ifindex(l);
    rtnl_link_put(l);
    return index;
}

int rtnl::ifindex_or_throw(const std::string& name) {
    auto i = ifindex(name);
    if (!i) throw std::runtime_error("no interface '" + name + "'");
    return *i;
}

bool rtnl::is_bridge(int index) {
    rtnl_link* l = nullptr;
    if (const int err = rtnl_link_get_kernel(sock_.get(), index, nullptr, &l); err < 0) {
        fail("get link " + std::to_string(index), err);
    }
    const char* type = rtnl_link_get_type(l);
    const bool bridge = type != nullptr && std::strcmp(type, "bridge") == 0;
    rtnl_link_put(l);
    return bridge;
}

void rtnl::create_veth(const std::string& name, const std::string& peer_name,
                       const mac_address& peer_mac, int peer_netns_fd) {
    link_ptr link(rtnl_link_veth_alloc(), "veth");
    rtnl_link_set_name(link.get(), name.c_str());
    rtnl_link* peer = rtnl_link_veth_get_peer(link.get());
    rtnl_link_set_name(peer, peer_name.c_str());
    addr_ptr mac(make_mac(peer_mac), "mac");
    rtnl_link_set_addr(peer, mac.get());
    rtnl_link_set_ns_fd(peer, peer_netns_fd);
    const int err = rtnl_link_add(sock_.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(peer);
    if (err < 0) fail("create veth " + name + " <-> " + peer_name, err);
}

void rtnl::set_up(int index, bool up) {
    auto orig = link_ref(index);
    link_ptr change(rtnl_link_alloc(), "link");
    if (up) {
        rtnl_link_set_flags(change.get(), IFF_UP);
    } else {
        rtnl_link_unset_flags(change.get(), IFF_UP);
    }
    if (const int err = rtnl_link_change(sock_.get(), orig.get(), change.get(), 0); err < 0) {
        fail(std::string("set link ") + std::to_string(index) + (up ? " up" : " down"), err);
    }
}

void rtnl::set_master(int index, int master_ifindex) {
    auto orig = link_ref(index);
    link_ptr change(rtnl_link_alloc(), "link");
    rtnl_link_set_master(change.get(), master_ifindex);
    if (const int err = rtnl_link_change(sock_.get(), orig.get(), change.get(), 0); err < 0) {
        fail("set master of link " + std::to_string(index), err);
    }
}

void rtnl::delete_link(int index) {
    auto l = link_ref(index);
    const int err = rtnl_link_delete(sock_.get(), l.get());
    if (err < 0 && err != -NLE_NODEV && err != -NLE_OBJ_NOTFOUND) {
        fail("delete link " + std::to_string(index), err);
    }
}

bool rtnl::delete_link_noexcept(int index) noexcept {
    try {
        delete_link(index);
        return true;
    } catch (...) {
        return false;
    }
}

void rtnl::add_address(int index, const ip_address& ip, int prefix_length) {
    raddr_ptr a(rtnl_addr_alloc(), "addr");
    addr_ptr local(make_ip(ip), "ip");
    nl_addr_set_prefixlen(local.get(), prefix_length);
    rtnl_addr_set_ifindex(a.get(), index);
    rtnl_addr_set_family(a.get(), family_of(ip));
    if (const int err = rtnl_addr_set_local(a.get(), local.get()); err < 0) fail("address", err);
    rtnl_addr_set_prefixlen(a.get(), prefix_length);
    if (ip.is_v6()) rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
    if (const int err = rtnl_addr_add(sock_.get(), a.get(), 0); err < 0) {
        fail("add address " + ip.to_string() + "/" + std::to_string(prefix_length), err);
    }
}

void rtnl::add_default_route(const ip_address& gateway, int ifindex) {
    route_ptr r(rtnl_route_alloc(), "route");
    const int family = family_of(gateway);
    rtnl_route_set_family(r.get(), static_cast<std::uint8_t>(family));
    rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
    rtnl_route_set_scope(r.get(), RT_SCOPE_UNIVERSE);
    rtnl_route_set_protocol(r.get(), RTPROT_BOOT);
    rtnl_route_set_type(r.get(), RTN_UNICAST);
    addr_ptr dst(family == AF_INET
                     ? nl_addr_build(AF_INET, std::array<std::uint8_t, 4>{}.data(), 4)
                     : nl_addr_build(AF_INET6, std::array<std::uint8_t, 16>{}.data(), 16),
                 "dst");
    nl_addr_set_prefixlen(dst.get(), 0);
    if (const int err = rtnl_route_set_dst(r.get(), dst.get()); err < 0) fail("route dst", err);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    if (nh == nullptr) throw std::runtime_error("netlink: out of memory (nexthop)");
    addr_ptr gw(make_ip(gateway), "gateway");
    rtnl_route_nh_set_gateway(nh, gw.get());
    rtnl_route_nh_set_ifindex(nh, ifindex);
    rtnl_route_add_nexthop(r.get(), nh);  // r owns nh now
    if (const int err = rtnl_route_add(sock_.get(), r.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
        fail("add default route via " + gateway.to_string(), err);
    }
}

void rtnl::set_neighbour(int index, const ip_address& ip, const mac_address& mac) {
    neigh_ptr n(rtnl_neigh_alloc(), "neighbour");
    rtnl_neigh_set_ifindex(n.get(), index);
    rtnl_neigh_set_family(n.get(), family_of(ip));
    addr_ptr dst(make_ip(ip), "ip");
    if (const int err = rtnl_neigh_set_dst(n.get(), dst.get()); err < 0) fail("neighbour dst", err);
    addr_ptr ll(make_mac(mac), "mac");
    rtnl_neigh_set_lladdr(n.get(), ll.get());
    rtnl_neigh_set_state(n.get(), NUD_REACHABLE);
    if (const int err = rtnl_neigh_add(sock_.get(), n.get(), NLM_F_CREATE | NLM_F_REPLACE);
        err < 0) {
        fail("set neighbour " + ip.to_string() + " lladdr " + mac.to_string(), err);
    }
}

bool same_subnet(const ip_address& a, const ip_address& b, int prefix_length) {
    if (a.is_v4() != b.is_v4() || prefix_length < 0) return false;
    if (a.is_v4()) {
        if (prefix_length > 32) return false;
        if (prefix_length == 0) return true;
        const std::uint32_t mask =
            prefix_length == 32 ? 0xffffffffU : ~(0xffffffffU >> prefix_length);
        return (a.v4().to_uint() & mask) == (b.v4().to_uint() & mask);
    }
    if (prefix_length > 128) return false;
    const auto& x = a.v6().bytes();
    const auto& y = b.v6().bytes();
    int bits = prefix_length;
    for (std::size_t i = 0; i < x.size() && bits > 0; ++i, bits -= 8) {
        const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
        if ((x[i] & mask) != (y[i] & mask)) return false;
    }
    return true;
}

}  // namespace jitsu::guest
