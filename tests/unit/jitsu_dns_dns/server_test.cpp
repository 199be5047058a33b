// The server over real sockets in the test's private network namespace: UDP and TCP
// answers, pipelining, TCP limits, dig/kdig, the vm_gate's paths, the UDP hot path's
// allocations, and default_forwarder().
#include <gtest/gtest.h>
#include <poll.h>

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "alloc_counter.h"
#include "jitsu_dns/default_forwarder.h"
#include "sample_authority.h"
#include "server_fixture.h"

namespace jitsu::dns {
namespace {

using namespace test;

std::string first_answer(const bytes& b) {
    auto d = decode(b);
    if (!d || d->answer.empty()) return "<none>";
    return d->answer[0].rdata_text + " ttl " + std::to_string(d->answer[0].ttl);
}

TEST(dns_server, udp_answer) {
    server_fixture f(local_options(), sample::authority());
    auto a = udp_ask(f.port(), make_query("www.example.org", type::a));
    ASSERT_TRUE(a);
    auto d = decode(*a);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->id, 0x1234);
    EXPECT_TRUE(d->aa());
    EXPECT_EQ(first_answer(*a), "10.0.0.10 ttl 30");
    auto s = f.stats();
    EXPECT_EQ(s.queries_udp, 1u);
    EXPECT_EQ(s.answered, 1u);
}

TEST(dns_server, udp_errors_and_drops_are_counted) {
    server_fixture f(local_options(), sample::authority());
    auto nx = udp_ask(f.port(), make_query("nope.example.org", type::a));
    ASSERT_TRUE(nx);
    EXPECT_EQ(decode(*nx)->rcode, rcode::nxdomain);
    auto fe = udp_ask(f.port(), header(7, 0, 0));
    ASSERT_TRUE(fe);
    EXPECT_EQ(decode(*fe)->rcode, rcode::formerr);
    auto refused = udp_ask(f.port(), make_query("www.other.net", type::a));
    ASSERT_TRUE(refused) << "no forwarder";
    EXPECT_EQ(decode(*refused)->rcode, rcode::refused);
    EXPECT_FALSE(udp_ask(f.port(), bytes{1, 2, 3, 4, 5}, 200ms)) << "short: silence";
    EXPECT_FALSE(udp_ask(f.port(), header(7, flag::qr, 0), 200ms)) << "a response: silence";
    auto s = f.stats();
    EXPECT_EQ(s.queries_udp, 5u);
    EXPECT_EQ(s.nxdomain, 1u);
    EXPECT_EQ(s.formerr, 1u);
    EXPECT_EQ(s.refused, 1u);
    EXPECT_EQ(s.dropped, 2u);
}

TEST(dns_server, tcp_answer_and_pipelining) {
    server_fixture f(local_options(), sample::authority());
    tcp_client c(f.port());
    ASSERT_TRUE(c.connected());
    // Three queries in one segment; three answers, ids matched.
    bytes all;
    for (std::uint16_t id : {1, 2, 3}) {
        query_options o;
        o.id = id;
        bytes q =
            make_query(id == 2 ? "nope.example.org" : "www.example.org", type::a, qclass::in, o);
        append16(all, static_cast<std::uint16_t>(q.size()));
        all.insert(all.end(), q.begin(), q.end());
    }
    c.send_raw(all);
    std::set<std::uint16_t> ids;
    for (int i = 0; i < 3; ++i) {
        auto a = c.receive();
        ASSERT_TRUE(a) << i;
        auto d = decode(*a);
        ASSERT_TRUE(d);
        ids.insert(d->id);
        EXPECT_EQ(d->rcode, d->id == 2 ? rcode::nxdomain : rcode::noerror);
    }
    EXPECT_EQ(ids, (std::set<std::uint16_t>{1, 2, 3}));
    // The connection stays open for more.
    c.send(make_query("ns.example.org", type::aaaa));
    auto a = c.receive();
    ASSERT_TRUE(a);
    EXPECT_EQ(first_answer(*a), "fd00::1 ttl 3600");
    EXPECT_EQ(f.stats().queries_tcp, 4u);
}

authority_config big_authority() {
    authority_config c = sample::authority();
    std::string label(63, 'n');
    c.zones[2].primary_ns = label + "." + label + "." + label + ".example.net";
    c.zones[2].mailbox = label + "." + label + "." + label + ".example.com";
    return c;
}

TEST(dns_server, truncated_over_udp_complete_over_tcp) {
    server_fixture f(local_options(), big_authority());
    bytes q = make_query("test", type::any);
    auto u = udp_ask(f.port(), q);
    ASSERT_TRUE(u);
    EXPECT_TRUE(decode(*u)->tc());
    EXPECT_LE(u->size(), 512u);
    tcp_client c(f.port());
    c.send(q);
    auto t = c.receive();
    ASSERT_TRUE(t);
    auto d = decode(*t);
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->tc());
    EXPECT_GT(t->size(), 512u);
    EXPECT_EQ(f.stats().truncated, 1u);
}

TEST(dns_server, tcp_connection_limit_idle_timeout_and_length_bound) {
    server_options o = local_options();
    o.max_tcp_connections = 2;
    o.tcp_idle_timeout = 300ms;
    o.max_tcp_query = 512;
    server_fixture f(o, sample::authority());
    tcp_client a(f.port()), b(f.port());
    a.send(make_query("www.example.org", type::a));
    ASSERT_TRUE(a.receive());
    b.send(make_query("www.example.org", type::a));
    ASSERT_TRUE(b.receive());
    // The table is full: the newcomer takes the place of the idlest (a).
    tcp_client c(f.port());
    c.send(make_query("www.example.org", type::a));
    EXPECT_TRUE(c.receive()) << "third connection served";
    EXPECT_TRUE(a.closed_by_peer(1000ms)) << "the idlest closed for it";
    EXPECT_EQ(f.stats().tcp_evicted, 1u);
    EXPECT_EQ(f.stats().tcp_rejected, 0u);
    // Idle: b and c are closed after ~300 ms without traffic.
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.closed_by_peer(2000ms));
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 150ms);
    EXPECT_TRUE(b.closed_by_peer(2000ms));
    EXPECT_EQ(f.stats().tcp_idle_closed, 2u);
    // Oversize length prefix: the connection is closed, counted.
    tcp_client d(f.port());
    d.send_raw({0x03, 0xe8});  // 1000 > 512
    EXPECT_TRUE(d.closed_by_peer(1000ms));
    EXPECT_EQ(f.stats().tcp_bad_length, 1u);
}

// dig and kdig (dnsutils, knot-dnsutils: scripts/install-deps) against the server.
TEST(dns_server, dig_and_kdig_see_the_answer_and_ttl) {
    server_fixture f(local_options(), sample::authority());
    std::string port = std::to_string(f.port());
    for (const char* tool : {"dig", "kdig"}) {
        ASSERT_EQ(std::system((std::string("command -v ") + tool + " > /dev/null").c_str()), 0)
            << tool << " is not installed (scripts/install-deps installs it)";
        // One try, two seconds: dig says +tries, kdig +retry.
        std::string once = std::string(tool) == "dig" ? " +time=2 +tries=1" : " +time=2 +retry=0";
        for (const char* tcp : {"", " +tcp"}) {
            SCOPED_TRACE(std::string(tool) + tcp);
            std::string out = run_command(std::string(tool) + " @127.0.0.1 -p " + port + once +
                                          " +noall +answer" + tcp + " WWW.example.org A");
            // One answer line: owner (as asked), TTL, class, type, address.
            std::istringstream words(out);
            std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
            // dig prints the owner as received (our echo of the client's case); kdig
            // prints names lowercased.
            std::string owner =
                std::string(tool) == "dig" ? "WWW.example.org." : "www.example.org.";
            EXPECT_EQ(w, (std::vector<std::string>{owner, "30", "IN", "A", "10.0.0.10"})) << out;
        }
    }
    std::string nx =
        run_command("dig @127.0.0.1 -p " + port + " +time=2 +tries=1 nope.example.org A");
    EXPECT_NE(nx.find("status: NXDOMAIN"), std::string::npos) << nx;
    EXPECT_NE(nx.find("flags: qr aa rd;"), std::string::npos) << nx;
    std::string soa =
        run_command("dig @127.0.0.1 -p " + port + " +time=2 +tries=1 +short example.org SOA");
    EXPECT_EQ(soa, "ns.example.org. hostmaster.example.org. 2024010101 3600 600 86400 60\n");
}

// A gate the test drives: a fixed verdict, and the waiters kept for the test to release.
TEST(dns_server, gate_answer_now_and_servfail) {
    fake_gate g;
    server_fixture f(local_options(), sample::authority(), &g);
    auto a = udp_ask(f.port(), make_query("www.example.org", type::a));
    ASSERT_TRUE(a);
    EXPECT_EQ(first_answer(*a), "10.0.0.10 ttl 30");
    f.on_loop([&] { g.next = vm_gate::verdict::servfail; });
    auto s = udp_ask(f.port(), make_query("vm.sub.example.org", type::a));
    ASSERT_TRUE(s);
    EXPECT_EQ(decode(*s)->rcode, rcode::servfail);
    // Not a VM query (MX) and not a VM name: the gate is not asked.
    ASSERT_TRUE(udp_ask(f.port(), make_query("www.example.org", 15)));
    ASSERT_TRUE(udp_ask(f.port(), make_query("ns.example.org", type::a)));
    std::vector<std::size_t> queried;
    f.on_loop([&] { queried = g.queried; });
    EXPECT_EQ(queried, (std::vector<std::size_t>{0, 4}));
}

TEST(dns_server, gate_wait_answers_when_released_over_udp_and_tcp) {
    fake_gate g;
    g.next = vm_gate::verdict::wait;
    server_options o = local_options();
    o.max_waiting = 3;
    server_fixture f(o, sample::authority(), &g);
    udp_client u1, u2;
    u1.send_to(f.port(), make_query("www.example.org", type::a));
    query_options id9;
    id9.id = 9;
    u2.send_to(f.port(), make_query("v6.example.org", type::aaaa, qclass::in, id9));
    tcp_client t(f.port());
    t.send(make_query("www.example.org", type::aaaa));
    EXPECT_FALSE(u1.receive(200ms)) << "held while the VM boots";
    EXPECT_FALSE(t.receive(50ms));
    // A fourth waiter is over max_waiting: SERVFAIL at once.
    auto over = udp_ask(f.port(), make_query("www.example.org", type::a));
    ASSERT_TRUE(over);
    EXPECT_EQ(decode(*over)->rcode, rcode::servfail);

    std::size_t n = 0;
    f.on_loop([&] { n = g.waiters.size(); });
    ASSERT_EQ(n, 3u);
    // Release: u1 ok, u2 failed (backend error), TCP ok — on the loop, as the booter would.
    f.on_loop([&] {
        boost::asio::post(f.io, [&] {
            g.waiters[0].second(true);
            g.waiters[1].second(false);
            g.waiters[2].second(true);
            g.waiters[2].second(true);  // a second call is ignored
        });
    });
    auto a1 = u1.receive();
    ASSERT_TRUE(a1);
    EXPECT_EQ(first_answer(*a1), "10.0.0.10 ttl 30");
    auto a2 = u2.receive();
    ASSERT_TRUE(a2);
    EXPECT_EQ(decode(*a2)->rcode, rcode::servfail);
    EXPECT_EQ(decode(*a2)->id, 9);
    auto a3 = t.receive();
    ASSERT_TRUE(a3);
    EXPECT_EQ(first_answer(*a3), "fd00::10 ttl 30");
    auto s = f.stats();
    EXPECT_EQ(s.waited, 3u);
    EXPECT_EQ(s.wait_overflow, 1u);
    EXPECT_EQ(s.servfail, 2u);
    // Slots are reused: three more waits fit.
    for (int i = 0; i < 3; ++i) u1.send_to(f.port(), make_query("www.example.org", type::a));
    for (int i = 0; i < 50 && n != 6; ++i) {
        std::this_thread::sleep_for(10ms);
        f.on_loop([&] { n = g.waiters.size(); });
    }
    EXPECT_EQ(n, 6u);
    EXPECT_EQ(f.stats().wait_overflow, 1u);
    f.on_loop([&] {
        for (std::size_t i = 3; i < 6; ++i) g.waiters[i].second(true);
    });
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(u1.receive()) << i;
}

TEST(dns_server, udp_hot_path_does_not_allocate) {
    server_fixture f(local_options(), sample::authority());
    // Pre-built queries and buffers: the client side allocates nothing in the loop either.
    bytes q1 = make_query("www.example.org", type::a);
    bytes q2 = make_query("nope.example.org", type::a);
    udp_client c;
    bytes buf(1024);
    auto exchange = [&](int count) {
        std::size_t ok = 0;
        for (int i = 0; i < count; ++i) {
            c.send_to(f.port(), i % 2 ? q2 : q1);
            pollfd p{c.fd(), POLLIN, 0};
            if (::poll(&p, 1, 2000) == 1 && ::recv(c.fd(), buf.data(), buf.size(), 0) > 0) ++ok;
        }
        return ok;
    };
    ASSERT_EQ(exchange(50), 50u);  // warm-up: Asio's handler memory is recycled after this
    std::size_t before = allocations();
    trace_allocations(std::getenv("JITSU_TRACE_ALLOCATIONS") != nullptr);
    std::size_t ok = exchange(500);
    trace_allocations(false);
    std::size_t after = allocations();
    EXPECT_EQ(ok, 500u);
    EXPECT_EQ(after - before, 0u) << "allocations for 500 UDP queries";
}

TEST(dns_server, bind_failure_is_one_line) {
    server_fixture f(local_options(), sample::authority());
    server_options o = local_options();
    o.port = f.port();
    boost::asio::io_context io;
    try {
        server s(io, o, sample::authority(), nullptr);
        FAIL() << "second bind succeeded";
    } catch (const std::runtime_error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("cannot bind UDP 127.0.0.1 port " + std::to_string(f.port())),
                  std::string::npos)
            << m;
        EXPECT_EQ(m.find('\n'), std::string::npos);
    }
}

TEST(dns_server, default_forwarder_reads_resolv_conf) {
    std::string path = ::testing::TempDir() + "/resolv.conf.test";
    auto write = [&](const std::string& text) { std::ofstream(path) << text; };
    write(
        "# comment\nsearch example.org\nnameserver 192.0.2.53 # trailing\nnameserver 192.0.2.54\n");
    auto e = default_forwarder(path);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->address().to_string(), "192.0.2.53");
    EXPECT_EQ(e->port(), 53);
    write("nameserver bogus\n; nameserver 192.0.2.1\nnameserver 2001:db8::1\n");
    e = default_forwarder(path, 5353);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->address().to_string(), "2001:db8::1");
    EXPECT_EQ(e->port(), 5353);
    write("search example.org\n");
    EXPECT_FALSE(default_forwarder(path));
    write("nameserver 0.0.0.0\n");
    EXPECT_FALSE(default_forwarder(path)) << "0.0.0.0 disables forwarding";
    EXPECT_FALSE(default_forwarder(path + ".missing"));
    std::remove(path.c_str());
}

bool next_datagram_arrives(udp_client& c) { return c.receive(2000ms).has_value(); }

// stop() and destruction with gate waits, a forward and a TCP connection in flight; late
// gate callbacks and Asio completions after that must not touch the server (ASan/UBSan
// builds check the memory side).
TEST(dns_server, shutdown_with_work_in_flight) {
    udp_client upstream;  // never answers
    fake_gate g;
    g.next = vm_gate::verdict::wait;
    boost::asio::io_context io;
    server_options o = local_options();
    o.forwarder =
        boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), upstream.port());
    auto s = std::make_unique<server>(io, o, sample::authority(), &g);
    s->start();
    std::uint16_t port = s->udp_port();
    udp_client u;
    u.send_to(port, make_query("www.example.org", type::a));
    u.send_to(port, make_query("v6.example.org", type::aaaa));
    u.send_to(port, make_query("www.other.net", type::a));
    tcp_client t(port);
    t.send(make_query("www.example.org", type::aaaa));
    for (int i = 0; i < 100 && g.waiters.size() < 3; ++i) io.run_for(10ms);
    ASSERT_EQ(g.waiters.size(), 3u);
    ASSERT_TRUE(next_datagram_arrives(upstream));
    s->stop();
    io.run_for(50ms);
    EXPECT_TRUE(t.closed_by_peer(500ms));
    g.waiters[0].second(true);  // after stop: frees the slot, answers nobody
    EXPECT_FALSE(u.receive(100ms));
    s.reset();
    g.waiters[1].second(false);  // after destruction: ignored
    g.waiters[2].second(true);
    io.restart();
    io.run_for(50ms);  // completions that were still queued see the server gone
}

}  // namespace
}  // namespace jitsu::dns
