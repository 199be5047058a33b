// tcp_prober against the kernel's TCP on loopback, in the test's own network namespace
// (PRIVATE_NETNS; root, as for CAP_NET_RAW): a listening port is `accepted` while the
// listener never has a connection to accept (the probe is half-open: the host's RST
// ends it), a port nobody listens on is `refused`, the returned 4-tuple is the SYN's, a
// cancelled probe or a destroyed prober reports nothing, other connections' answers are
// not mistaken for a probe's, a burst of answers is read whole, and IPv6 works the same.
#include "synjitsu/tcp_prober.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "common/packet/tcp.h"

namespace jitsu::synjitsu {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Runs `io` in 2 ms slices until `done()` or `limit`; false on the limit.
bool run_io_until(boost::asio::io_context& io, const std::function<bool()>& done,
                  std::chrono::milliseconds limit) {
    const auto deadline = clock::now() + limit;
    while (!done()) {
        if (clock::now() >= deadline) return false;
        if (io.stopped()) io.restart();
        io.run_for(2ms);
    }
    return true;
}

// A TCP socket bound to `ip` and an ephemeral port, listening when asked.
struct tcp_endpoint {
    int fd = -1;
    std::uint16_t port = 0;
    tcp_endpoint(const ip_address& ip, bool listening) {
        const bool v4 = ip.is_v4();
        fd = ::socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_storage a{};
        socklen_t len = 0;
        if (v4) {
            auto* sin = reinterpret_cast<sockaddr_in*>(&a);
            sin->sin_family = AF_INET;
            sin->sin_addr.s_addr = htonl(ip.v4().to_uint());
            len = sizeof(sockaddr_in);
        } else {
            auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a);
            sin6->sin6_family = AF_INET6;
            std::memcpy(&sin6->sin6_addr, ip.v6().bytes().data(), 16);
            len = sizeof(sockaddr_in6);
        }
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) return;
        if (listening && ::listen(fd, 16) != 0) return;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return;
        port = ntohs(v4 ? reinterpret_cast<sockaddr_in*>(&a)->sin_port
                        : reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
    }
    ~tcp_endpoint() {
        if (fd >= 0) ::close(fd);
    }
    tcp_endpoint(const tcp_endpoint&) = delete;
    tcp_endpoint& operator=(const tcp_endpoint&) = delete;
    // A connection waiting in the accept queue within `limit`?
    bool has_connection(std::chrono::milliseconds limit) const {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
    }
};

// What crossed loopback, from a raw IPv4 TCP socket of the test's own.
struct segment_seen {
    std::uint16_t src_port = 0, dst_port = 0;
    std::uint8_t flags = 0;
};
struct v4_watcher {
    int fd = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    std::vector<segment_seen> seen;
    ~v4_watcher() {
        if (fd >= 0) ::close(fd);
    }
    void collect() {
        std::array<std::uint8_t, 256> buf{};
        for (;;) {
            const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
            if (n < 20) return;
            const std::size_t ihl = static_cast<std::size_t>(buf[0] & 0x0f) * 4;
            const auto seg = packet::tcp_view::parse(
                std::span<const std::uint8_t>(buf.data() + ihl, static_cast<std::size_t>(n) - ihl));
            if (seg) seen.push_back({seg->src_port(), seg->dst_port(), seg->flags()});
        }
    }
    bool saw(std::uint16_t src, std::uint16_t dst, std::uint8_t flags) {
        collect();
        for (const auto& s : seen) {
            if (s.src_port == src && s.dst_port == dst && (s.flags & flags) == flags) return true;
        }
        return false;
    }
    // Segments from src to dst that are neither the SYN nor a RST: a completed handshake.
    int handshake_segments(std::uint16_t src, std::uint16_t dst) {
        collect();
        int n = 0;
        for (const auto& s : seen) {
            if (s.src_port != src || s.dst_port != dst) continue;
            if (s.flags == packet::tcp_flags::syn || (s.flags & packet::tcp_flags::rst) != 0) {
                continue;
            }
            ++n;
        }
        return n;
    }
};

struct outcome_record {
    probe_id id = 0;
    probe_outcome outcome = probe_outcome::failed;
    std::error_code ec{};
};

const ip_address loopback = *ip_address::parse("127.0.0.1");
const ip_address loopback6 = *ip_address::parse("::1");

struct synjitsu_tcp_prober : ::testing::Test {
    boost::asio::io_context io;
    std::vector<outcome_record> results;
    std::unique_ptr<tcp_prober> prober = make();

    std::unique_ptr<tcp_prober> make() {
        return std::make_unique<tcp_prober>(
            io,
            [this](probe_id id, probe_outcome o, std::error_code ec) {
                results.push_back({id, o, ec});
            },
            nullptr);
    }
    std::optional<four_tuple> start(probe_id id, const ip_address& ip, std::uint16_t port) {
        std::error_code ec;
        auto tuple = prober->start(id, ip, port, ec);
        EXPECT_TRUE(tuple.has_value()) << ec.message();
        return tuple;
    }
    bool wait_results(std::size_t n) {
        return run_io_until(
            io, [&] { return results.size() >= n; }, 5000ms);
    }
};

TEST_F(synjitsu_tcp_prober, a_listening_port_is_accepted_and_the_service_never_sees_the_probe) {
    tcp_endpoint listener(loopback, true);
    ASSERT_NE(listener.port, 0);
    v4_watcher watch;
    ASSERT_GE(watch.fd, 0);
    const auto tuple = start(1, loopback, listener.port);
    ASSERT_TRUE(tuple);
    EXPECT_TRUE(results.empty()) << "an outcome from within start()";
    EXPECT_EQ(tuple->local_ip, loopback);
    EXPECT_EQ(tuple->local_port, listener.port);
    EXPECT_EQ(tuple->remote_ip, loopback);
    EXPECT_NE(tuple->remote_port, 0);
    EXPECT_EQ(prober->open(), 1u);

    ASSERT_TRUE(wait_results(1));
    EXPECT_EQ(results[0].id, 1u);
    EXPECT_EQ(results[0].outcome, probe_outcome::accepted) << results[0].ec.message();
    EXPECT_EQ(prober->open(), 0u);
    EXPECT_EQ(prober->stats().syns_sent, 1u);
    EXPECT_EQ(prober->stats().answers, 1u);

    // The SYN left from the returned 4-tuple; the listener's SYN-ACK was answered with a
    // RST and nothing else: no ACK completing the handshake, nothing to accept.
    const std::uint16_t probe_port = tuple->remote_port;
    EXPECT_TRUE(watch.saw(probe_port, listener.port, packet::tcp_flags::syn));
    EXPECT_TRUE(run_io_until(
        io, [&] { return watch.saw(probe_port, listener.port, packet::tcp_flags::rst); }, 2000ms))
        << "the host did not reset the half-open connection";
    EXPECT_EQ(watch.handshake_segments(probe_port, listener.port), 0);
    EXPECT_FALSE(listener.has_connection(200ms)) << "the service accepted the probe";
}

TEST_F(synjitsu_tcp_prober, a_port_nobody_listens_on_is_refused) {
    const tcp_endpoint bound(loopback, false);  // holds the port; not listening
    ASSERT_NE(bound.port, 0);
    ASSERT_TRUE(start(7, loopback, bound.port));
    ASSERT_TRUE(wait_results(1));
    EXPECT_EQ(results[0].id, 7u);
    EXPECT_EQ(results[0].outcome, probe_outcome::refused);
    EXPECT_EQ(results[0].ec, std::make_error_code(std::errc::connection_refused));
}

TEST_F(synjitsu_tcp_prober, probes_in_flight_together_each_get_their_own_outcome) {
    tcp_endpoint listener(loopback, true);
    const tcp_endpoint closed(loopback, false);
    const auto a = start(1, loopback, listener.port);
    const auto b = start(2, loopback, closed.port);
    const auto c = start(3, loopback, listener.port);
    ASSERT_TRUE(a && b && c);
    EXPECT_NE(a->remote_port, c->remote_port) << "two probes, one 4-tuple";
    ASSERT_TRUE(wait_results(3));
    std::map<probe_id, probe_outcome> by_id;
    for (const auto& r : results) by_id[r.id] = r.outcome;
    EXPECT_EQ(by_id.at(1), probe_outcome::accepted);
    EXPECT_EQ(by_id.at(2), probe_outcome::refused);
    EXPECT_EQ(by_id.at(3), probe_outcome::accepted);
    EXPECT_FALSE(listener.has_connection(100ms));
}

TEST_F(synjitsu_tcp_prober, more_answers_than_one_wake_up_reads_all_arrive) {
    // 100 refusals queued before the loop runs: more than one wake-up's batch (64).
    const tcp_endpoint closed(loopback, false);
    constexpr probe_id n = 100;
    for (probe_id id = 1; id <= n; ++id) ASSERT_TRUE(start(id, loopback, closed.port));
    ASSERT_TRUE(wait_results(n)) << results.size() << " of " << n;
    for (const auto& r : results) EXPECT_EQ(r.outcome, probe_outcome::refused);
    EXPECT_EQ(prober->open(), 0u);
}

TEST_F(synjitsu_tcp_prober, a_cancelled_probe_reports_nothing) {
    tcp_endpoint listener(loopback, true);
    ASSERT_TRUE(start(1, loopback, listener.port));
    prober->cancel(1);
    EXPECT_EQ(prober->open(), 0u);
    // Its SYN-ACK still comes, and is dropped as nobody's.
    EXPECT_TRUE(run_io_until(
        io, [&] { return prober->stats().unmatched >= 1; }, 2000ms));
    EXPECT_TRUE(results.empty());
    prober->cancel(1);  // twice, or unknown: no-op
    prober->cancel(42);
}

TEST_F(synjitsu_tcp_prober, other_connections_answers_are_not_a_probes) {
    tcp_endpoint listener(loopback, true);
    ASSERT_TRUE(start(1, loopback, listener.port));
    ASSERT_TRUE(wait_results(1));
    // An ordinary connection to the same port: its SYN-ACK passes the filter, matches no
    // probe (another port, another ISN) and is counted, not reported.
    const auto matched = prober->stats().answers;
    tcp_endpoint client(loopback, false);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(listener.port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(client.fd, reinterpret_cast<sockaddr*>(&to), sizeof to);  // non-blocking
    // The probe of another port keeps the raw socket read.
    const tcp_endpoint closed(loopback, false);
    ASSERT_TRUE(start(2, loopback, closed.port));
    ASSERT_TRUE(wait_results(2));
    EXPECT_TRUE(listener.has_connection(2000ms)) << "the ordinary connection was disturbed";
    run_io_until(
        io, [&] { return prober->stats().unmatched >= 1; }, 1000ms);
    EXPECT_EQ(results.size(), 2u);
    EXPECT_EQ(results[1].id, 2u);
    EXPECT_EQ(results[1].outcome, probe_outcome::refused);
    EXPECT_EQ(prober->stats().answers, matched + 1);
    EXPECT_GE(prober->stats().unmatched, 1u);
}

TEST_F(synjitsu_tcp_prober, a_destroyed_prober_reports_nothing) {
    tcp_endpoint listener(loopback, true);
    ASSERT_TRUE(start(1, loopback, listener.port));
    prober.reset();
    io.restart();
    io.run_for(100ms);  // a wait still queued runs and must not touch the prober
    EXPECT_TRUE(results.empty());
}

TEST_F(synjitsu_tcp_prober, cancel_all_then_new_probes_still_get_answers) {
    tcp_endpoint listener(loopback, true);
    ASSERT_TRUE(start(1, loopback, listener.port));
    prober->cancel_all();
    ASSERT_TRUE(start(2, loopback, listener.port));
    ASSERT_TRUE(wait_results(1));
    EXPECT_EQ(results[0].id, 2u);
    EXPECT_EQ(results[0].outcome, probe_outcome::accepted);
}

TEST_F(synjitsu_tcp_prober, ipv6_works_the_same) {
    tcp_endpoint listener(loopback6, true);
    if (listener.port == 0) GTEST_SKIP() << "no IPv6 loopback here";
    const tcp_endpoint closed(loopback6, false);
    const auto a = start(1, loopback6, listener.port);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->remote_ip, loopback6);
    ASSERT_TRUE(start(2, loopback6, closed.port));
    ASSERT_TRUE(wait_results(2));
    std::map<probe_id, probe_outcome> by_id;
    for (const auto& r : results) by_id[r.id] = r.outcome;
    EXPECT_EQ(by_id.at(1), probe_outcome::accepted);
    EXPECT_EQ(by_id.at(2), probe_outcome::refused);
    EXPECT_FALSE(listener.has_connection(200ms)) << "the service accepted the probe";
}

TEST_F(synjitsu_tcp_prober, no_route_fails_at_start) {
    std::error_code ec;
    // Only loopback exists in this namespace.
    EXPECT_FALSE(prober->start(1, *ip_address::parse("192.0.2.1"), 80, ec));
    EXPECT_TRUE(ec);
    EXPECT_EQ(prober->open(), 0u);
}

}  // namespace
}  // namespace jitsu::synjitsu
