// Issue 11 item 10: the addresses the server listens on. On a wildcard bind a UDP answer
// must leave from the address the query was sent to (a host with a second address:
// clients drop answers from the primary one), for immediate and deferred answers, IPv4
// and IPv6 (also IPv4 on a dual-stack `::`); several addresses can be served at once.
//
// The clients use connected UDP sockets, which the kernel only hands datagrams from the
// address they are connected to, as stub resolvers (and dig) do. Addresses are added to
// lo in the test's private network namespace: 10.53.0.1/24 is primary, 10.53.0.2/24
// secondary, and an answer to 10.53.0.1 that routing alone would send leaves from .1.
#include <gtest/gtest.h>

#include <stdexcept>

#include "sample_authority.h"
#include "server_fixture.h"

namespace jitsu::dns {
namespace {

using namespace test;
namespace ip = boost::asio::ip;

const std::vector<std::string> extra_addresses{"10.53.0.1/24", "10.53.0.2/24", "fd53::1/64",
                                               "fd53::2/64"};

server_options listening_on(std::vector<std::string> addresses) {
    server_options o = local_options();
    o.bind.clear();
    for (const auto& a : addresses) o.bind.push_back(ip::make_address(a));
    return o;
}

// An A query for www.example.org from `from` to `to`: answered with its address?
std::string ask(const std::string& from, const std::string& to, std::uint16_t port) {
    auto answer = udp_ask_at(from, to, port, make_query("www.example.org", type::a), 1000ms);
    if (!answer) return "no answer from " + to;
    auto d = decode(*answer);
    if (!d || d->answer.empty()) return "empty answer from " + to;
    return d->answer[0].rdata_text;
}

std::string ask_tcp(const std::string& from, const std::string& to, std::uint16_t port) {
    tcp_client c(to, port, from);
    if (!c.connected()) return "no TCP connection to " + to;
    c.send(make_query("www.example.org", type::a));
    auto answer = c.receive(1000ms);
    if (!answer) return "no TCP answer from " + to;
    auto d = decode(*answer);
    if (!d || d->answer.empty()) return "empty TCP answer from " + to;
    return d->answer[0].rdata_text;
}

class dns_listen : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(add_loopback_addresses(extra_addresses)); }
};

TEST_F(dns_listen, ipv4_wildcard_answers_from_the_address_asked) {
    server_fixture f(listening_on({"0.0.0.0"}), sample::authority());
    EXPECT_EQ(ask("10.53.0.1", "10.53.0.2", f.port()), "10.0.0.10") << "secondary address";
    EXPECT_EQ(ask("127.0.0.1", "127.0.0.2", f.port()), "10.0.0.10");
    EXPECT_EQ(ask("10.53.0.2", "10.53.0.1", f.port()), "10.0.0.10");
    EXPECT_EQ(ask_tcp("10.53.0.1", "10.53.0.2", f.port()), "10.0.0.10");
    EXPECT_EQ(f.stats().dropped, 0u);
}

TEST_F(dns_listen, deferred_answers_leave_from_the_address_asked) {
    fake_gate g;
    g.next = vm_gate::verdict::wait;
    server_fixture f(listening_on({"0.0.0.0", "::"}), sample::authority(), &g);
    std::optional<bytes> v4, v6;
    std::thread asker([&] {
        v4 = udp_ask_at("10.53.0.1", "10.53.0.2", f.port(), make_query("www.example.org", type::a),
                        3000ms);
    });
    std::thread asker6([&] {
        v6 = udp_ask_at("fd53::1", "fd53::2", f.port(), make_query("www.example.org", type::a),
                        3000ms);
    });
    // Both held by the gate, then released on the loop as the booter would.
    std::size_t held = 0;
    for (int i = 0; i < 200 && held < 2; ++i) {
        std::this_thread::sleep_for(10ms);
        f.on_loop([&] { held = g.waiters.size(); });
    }
    ASSERT_EQ(held, 2u);
    f.on_loop([&] {
        for (auto& w : g.waiters) w.second(true);
    });
    asker.join();
    asker6.join();
    EXPECT_TRUE(v4) << "deferred IPv4 answer from the secondary address";
    EXPECT_TRUE(v6) << "deferred IPv6 answer from the second address";
}

TEST_F(dns_listen, ipv6_wildcard_alone_serves_both_families_from_the_address_asked) {
    server_fixture f(listening_on({"::"}), sample::authority());
    EXPECT_EQ(ask("fd53::1", "fd53::2", f.port()), "10.0.0.10");
    EXPECT_EQ(ask("::1", "fd53::1", f.port()), "10.0.0.10");
    // IPv4 arrives v4-mapped; the answer still leaves from the IPv4 address asked.
    EXPECT_EQ(ask("10.53.0.1", "10.53.0.2", f.port()), "10.0.0.10");
    EXPECT_EQ(ask_tcp("10.53.0.1", "10.53.0.2", f.port()), "10.0.0.10");
    EXPECT_EQ(ask_tcp("fd53::1", "fd53::2", f.port()), "10.0.0.10");
}

TEST_F(dns_listen, both_wildcards_together) {
    server_fixture f(listening_on({"0.0.0.0", "::"}), sample::authority());
    EXPECT_EQ(ask("10.53.0.1", "10.53.0.2", f.port()), "10.0.0.10");
    EXPECT_EQ(ask("fd53::1", "fd53::2", f.port()), "10.0.0.10");
    EXPECT_EQ(ask_tcp("10.53.0.1", "10.53.0.2", f.port()), "10.0.0.10");
    EXPECT_EQ(ask_tcp("fd53::1", "fd53::2", f.port()), "10.0.0.10");
}

TEST_F(dns_listen, several_addresses_on_one_port_and_no_others) {
    server_fixture f(listening_on({"10.53.0.2", "127.0.0.3", "fd53::2"}), sample::authority());
    for (const char* to : {"10.53.0.2", "127.0.0.3", "fd53::2"}) {
        SCOPED_TRACE(to);
        const std::string from = std::string(to).find(':') != std::string::npos ? "fd53::1" : "";
        EXPECT_EQ(ask(from, to, f.port()), "10.0.0.10");
        EXPECT_EQ(ask_tcp(from, to, f.port()), "10.0.0.10");
    }
    for (const char* to : {"10.53.0.1", "127.0.0.1", "fd53::1"}) {
        SCOPED_TRACE(to);
        EXPECT_NE(ask("", to, f.port()), "10.0.0.10") << "not listed: not served";
        EXPECT_FALSE(tcp_client(to, f.port()).connected());
    }
}

TEST_F(dns_listen, a_wildcard_with_an_address_it_covers_or_a_repeat_is_one_line) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"0.0.0.0", "127.0.0.1"}, "cannot serve DNS on 127.0.0.1 and 0.0.0.0: the wildcard"},
        {{"::", "::1"}, "cannot serve DNS on ::1 and ::: the wildcard"},
        {{"::", "127.0.0.1", "fd53::2"}, "cannot serve DNS on fd53::2 and ::: the wildcard"},
        {{"127.0.0.1", "127.0.0.1"}, "cannot serve DNS on 127.0.0.1 and 127.0.0.1: listed twice"},
        {{}, "no address to serve DNS on"},
    };
    for (const auto& [list, message] : cases) {
        SCOPED_TRACE(message);
        boost::asio::io_context io;
        try {
            server s(io, listening_on(list), sample::authority(), nullptr);
            ADD_FAILURE() << "accepted";
        } catch (const std::runtime_error& e) {
            EXPECT_EQ(std::string(e.what()).find(message), 0u) << e.what();
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        }
    }
    // `::` beside an IPv4 address is IPv6 only: both bind.
    boost::asio::io_context io;
    EXPECT_NO_THROW(server(io, listening_on({"::", "127.0.0.1"}), sample::authority(), nullptr));
}

}  // namespace
}  // namespace jitsu::dns
