// Issue 11 item 12: one client holding idle TCP connections must not lock other clients
// out. A client (IPv4 address, IPv6 /64) holds at most max_tcp_per_client connections;
// a full table makes room for a newcomer by closing the longest-idle connection of the
// client holding the most; only connections owed answers are never closed for room.
//
// Clients are told apart by source address: all of 127/8 is on lo in the test's private
// network namespace, and fd53::/64, fd54::/64 are added to it.
#include <gtest/gtest.h>

#include <memory>

#include "sample_authority.h"
#include "server_fixture.h"

namespace jitsu::dns {
namespace {

using namespace test;

// Opens `count` connections from `from`, each answered once (so each is accepted and
// then idle). Returns them; a connection the server did not take stays in the list.
std::vector<std::unique_ptr<tcp_client>> hold(const std::string& from, int count,
                                              std::uint16_t port, bool query = true) {
    std::vector<std::unique_ptr<tcp_client>> out;
    for (int i = 0; i < count; ++i) {
        auto c = std::make_unique<tcp_client>(
            from.find(':') != std::string::npos ? "fd53::ff" : "127.0.0.1", port, from);
        if (query && c->connected()) {
            c->send(make_query("www.example.org", type::a));
            (void)c->receive(1000ms);
        }
        out.push_back(std::move(c));
    }
    return out;
}

bool answers(tcp_client& c) {
    if (!c.connected()) return false;
    c.send(make_query("www.example.org", type::a));
    auto a = c.receive(2000ms);
    return a && decode(*a) && !decode(*a)->answer.empty();
}

TEST(dns_tcp_limits, a_client_holding_hundreds_of_idle_connections_does_not_lock_others_out) {
    server_fixture f(local_options(), sample::authority());  // the defaults: 256, 16 each
    // 300 idle connections from one address, opened without a query (as the outside
    // test did): the server keeps its share and closes the rest at once.
    auto idle = hold("127.0.0.1", 300, f.port(), false);
    tcp_client other("127.0.0.1", f.port(), "127.0.0.2");
    EXPECT_TRUE(answers(other)) << "another client's TCP query is answered";
    const auto s = f.stats();
    EXPECT_EQ(s.tcp_rejected_per_client, 300u - 16u);
    EXPECT_EQ(s.tcp_rejected, 0u);
    // The holder's own kept connections still work.
    EXPECT_TRUE(answers(*idle[0]));
    // And it cannot take more by reconnecting: still closed at once.
    tcp_client again("127.0.0.1", f.port(), "127.0.0.1");
    EXPECT_TRUE(again.closed_by_peer(1000ms));
}

TEST(dns_tcp_limits, a_full_table_closes_the_idlest_connection_of_the_biggest_holder) {
    server_options o = local_options();
    o.max_tcp_connections = 8;
    o.max_tcp_per_client = 4;
    server_fixture f(o, sample::authority());
    auto big = hold("127.0.0.11", 4, f.port());  // answered in turn: big[0] is the idlest
    auto mid = hold("127.0.0.12", 3, f.port());
    auto small = hold("127.0.0.13", 1, f.port());
    ASSERT_EQ(f.stats().tcp_evicted, 0u);
    tcp_client newcomer("127.0.0.1", f.port(), "127.0.0.14");
    EXPECT_TRUE(answers(newcomer)) << "served although the table was full";
    EXPECT_EQ(f.stats().tcp_evicted, 1u);
    EXPECT_TRUE(big[0]->closed_by_peer(1000ms)) << "the idlest of the biggest holder";
    for (std::size_t i = 1; i < big.size(); ++i) EXPECT_TRUE(answers(*big[i])) << i;
    for (auto& c : mid) EXPECT_TRUE(answers(*c));
    EXPECT_TRUE(answers(*small[0])) << "the client with one connection keeps it";
    EXPECT_EQ(f.stats().tcp_rejected, 0u);
}

TEST(dns_tcp_limits, connections_owed_answers_are_not_closed_for_room) {
    fake_gate g;
    g.next = vm_gate::verdict::wait;
    server_options o = local_options();
    o.max_tcp_connections = 2;
    server_fixture f(o, sample::authority(), &g);
    tcp_client a("127.0.0.1", f.port(), "127.0.0.21"), b("127.0.0.1", f.port(), "127.0.0.22");
    a.send(make_query("www.example.org", type::a));
    b.send(make_query("www.example.org", type::a));
    std::size_t held = 0;
    for (int i = 0; i < 200 && held < 2; ++i) {
        std::this_thread::sleep_for(10ms);
        f.on_loop([&] { held = g.waiters.size(); });
    }
    ASSERT_EQ(held, 2u) << "both waiting on the gate";
    tcp_client c("127.0.0.1", f.port(), "127.0.0.23");
    EXPECT_TRUE(c.closed_by_peer(1000ms)) << "nothing may be closed for it";
    EXPECT_EQ(f.stats().tcp_rejected, 1u);
    EXPECT_EQ(f.stats().tcp_evicted, 0u);
    f.on_loop([&] {
        for (auto& w : g.waiters) w.second(true);
    });
    EXPECT_TRUE(a.receive(2000ms));
    EXPECT_TRUE(b.receive(2000ms));
}

TEST(dns_tcp_limits, an_ipv6_client_is_its_slash_64) {
    ASSERT_TRUE(add_loopback_addresses(
        {"fd53::ff/64", "fd53::1/64", "fd53::2/64", "fd53::3/64", "fd54::1/64"}));
    server_options o = local_options();
    o.bind = {boost::asio::ip::make_address("::")};
    o.max_tcp_per_client = 2;
    server_fixture f(o, sample::authority());
    auto first = hold("fd53::1", 1, f.port());
    auto second = hold("fd53::2", 1, f.port());
    EXPECT_TRUE(answers(*first[0]));
    EXPECT_TRUE(answers(*second[0]));
    tcp_client third("fd53::ff", f.port(), "fd53::3");
    EXPECT_TRUE(third.closed_by_peer(1000ms)) << "same /64: over its share";
    tcp_client elsewhere("fd53::ff", f.port(), "fd54::1");
    EXPECT_TRUE(answers(elsewhere)) << "another /64 is another client";
    EXPECT_EQ(f.stats().tcp_rejected_per_client, 1u);
}

}  // namespace
}  // namespace jitsu::dns
