#include "synjitsu/netlink.h"

#include <linux/neighbour.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/socket.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <stdexcept>

#include "common/format.h"

namespace jitsu::synjitsu {

namespace {

link_info to_info(rtnl_link* link) {
    link_info info;
    info.ifindex = rtnl_link_get_ifindex(link);
    info.mtu = rtnl_link_get_mtu(link);
    const unsigned flags = rtnl_link_get_flags(link);
    info.up = (flags & IFF_UP) != 0 && (flags & IFF_RUNNING) != 0;
    if (nl_addr* a = rtnl_link_get_addr(link);
        a != nullptr && nl_addr_get_len(a) == mac_address::size) {
        info.mac = mac_address::from_bytes(std::span<const std::uint8_t, mac_address::size>(
            static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(a)), mac_address::size));
    }
    return info;
}

struct sock_deleter {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
using sock_ptr = std::unique_ptr<nl_sock, sock_deleter>;

sock_ptr open_socket() {
    sock_ptr s(nl_socket_alloc());
    if (!s) throw std::runtime_error("netlink: cannot allocate a socket");
    if (const int rc = nl_connect(s.get(), NETLINK_ROUTE); rc < 0) {
        throw std::runtime_error(std::string("netlink: ") + nl_geterror(rc));
    }
    return s;
}

class netlink_monitor final : public link_monitor {
  public:
    netlink_monitor(boost::asio::io_context& io, std::string interface)
        : interface_(std::move(interface)), query_sock_(open_socket()), events_fd_(io) {}

    ~netlink_monitor() override {
        boost::system::error_code ec;
        events_fd_.close(ec);
    }

    std::optional<link_info> query() override {
        rtnl_link* link = nullptr;
        if (rtnl_link_get_kernel(query_sock_.get(), 0, interface_.c_str(), &link) < 0) {
            return std::nullopt;
        }
        link_info info = to_info(link);
        rtnl_link_put(link);
        return info;
    }

    void watch(change_handler handler) override {
        handler_ = std::move(handler);
        event_sock_ = open_socket();
        nl_socket_disable_seq_check(event_sock_.get());
        nl_socket_modify_cb(event_sock_.get(), NL_CB_VALID, NL_CB_CUSTOM,
                            &netlink_monitor::on_message, this);
        if (const int rc = nl_socket_add_membership(event_sock_.get(), RTNLGRP_LINK); rc < 0) {
            throw std::runtime_error(std::string("netlink membership: ") + nl_geterror(rc));
        }
        nl_socket_set_nonblocking(event_sock_.get());
        events_fd_.assign(::dup(nl_socket_get_fd(event_sock_.get())));
        wait();
    }

    std::error_code hint_neighbour(const ip_address& ip, const mac_address& mac) override {
        const auto link = query();
        if (!link) return std::make_error_code(std::errc::no_such_device);
        rtnl_neigh* n = rtnl_neigh_alloc();
        if (n == nullptr) return std::make_error_code(std::errc::not_enough_memory);
        nl_addr* dst = nullptr;
        if (const auto* v4 = ip.if_v4()) {
            const auto b = v4->bytes();
            dst = nl_addr_build(AF_INET, b.data(), b.size());
        } else {
            dst = nl_addr_build(AF_INET6, ip.v6().bytes().data(), ip.v6().bytes().size());
        }
        nl_addr* ll = nl_addr_build(AF_LLC, mac.bytes().data(), mac.bytes().size());
        int rc = -NLE_NOMEM;
        if (dst != nullptr && ll != nullptr) {
            rtnl_neigh_set_ifindex(n, link->ifindex);
            rtnl_neigh_set_family(n, ip.is_v4() ? AF_INET : AF_INET6);
            rc = rtnl_neigh_set_dst(n, dst);
            if (rc >= 0) {
                rtnl_neigh_set_lladdr(n, ll);
                rtnl_neigh_set_state(n, NUD_STALE);
                rc = rtnl_neigh_add(query_sock_.get(), n, NLM_F_CREATE | NLM_F_REPLACE);
            }
        }
        if (ll != nullptr) nl_addr_put(ll);
        if (dst != nullptr) nl_addr_put(dst);
        rtnl_neigh_put(n);
        if (rc < 0) {
            spdlog::debug("netlink: neighbour hint {} -> {}: {}", ip, mac, nl_geterror(rc));
            return std::make_error_code(std::errc::io_error);
        }
        return {};
    }

  private:
    void wait() {
        events_fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                              [this](const boost::system::error_code& ec) {
                                  if (ec) return;
                                  // Drain every queued message (non-blocking).
                                  while (nl_recvmsgs_default(event_sock_.get()) >= 0) {
                                  }
                                  wait();
                              });
    }

    static int on_message(nl_msg* msg, void* arg) {
        auto* self = static_cast<netlink_monitor*>(arg);
        nl_msg_parse(
            msg,
            [](nl_object* obj, void* a) {
                auto* me = static_cast<netlink_monitor*>(a);
                auto* link = reinterpret_cast<rtnl_link*>(obj);
                const char* name = rtnl_link_get_name(link);
                if (name == nullptr || me->interface_ != name) return;
                if (me->handler_) me->handler_(to_info(link));
            },
            self);
        return NL_OK;
    }

    std::string interface_;
    sock_ptr query_sock_;
    sock_ptr event_sock_;
    boost::asio::posix::stream_descriptor events_fd_;
    change_handler handler_;
};

}  // namespace

std::unique_ptr<link_monitor> make_netlink_monitor(boost::asio::io_context& io,
                                                   std::string interface) {
    return std::make_unique<netlink_monitor>(io, std::move(interface));
}

}  // namespace jitsu::synjitsu
