// jitsu-netvm's rtnetlink calls against the kernel, inside a private network namespace of
// a helper thread (unshare(CLONE_NEWNET) is per thread; the namespace goes with it).
// Needs root: skipped otherwise.
#include "guest/rtnl.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

namespace jitsu::guest {
namespace {

// Runs `body` in a fresh network namespace; "" if it returned, else why it threw
// ("skip: ..." when no namespace could be made).
std::string in_private_netns(const std::function<void(int self_fd)>& body) {
    std::string result;
    std::thread worker([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            result = "skip: unshare(CLONE_NEWNET) failed";
            return;
        }
        const int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        try {
            body(self);
        } catch (const std::exception& e) {
            result = e.what();
        }
        ::close(self);
    });
    worker.join();
    return result;
}

ip_address ip(const char* text) { return *ip_address::parse(text); }

// IPv6 routers are usually known by their link-local address: the VM's default route via
// fe80::fe must be accepted (it was refused, "Invalid input data or parameter", when the
// route named no interface), and a global IPv6 or an IPv4 gateway still work.
TEST(guest_rtnl, default_route_via_link_local_global_and_ipv4_gateways) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (a private network namespace)";
    const std::string error = in_private_netns([](int self) {
        for (const char* gateway : {"fe80::fe", "fd00:a::fe", "10.0.0.254"}) {
            rtnl nl;
            nl.create_veth("t0", "t1", *mac_address::parse("02:00:00:00:00:01"), self);
            const int link = nl.ifindex_or_throw("t0");
            nl.set_up(link, true);
            if (ip(gateway).is_v4()) {
                nl.add_address(link, ip("10.0.0.10"), 24);
            } else {
                nl.add_address(link, ip("fd00:a::10"), 64);
            }
            nl.add_default_route(ip(gateway), link);
            nl.delete_link(link);
        }
    });
    if (error.rfind("skip:", 0) == 0) GTEST_SKIP() << error;
    EXPECT_EQ(error, "");
}

}  // namespace
}  // namespace jitsu::guest
