// wait_for_port: the probe loop on its own (refusals, lost SYNs, the bound) and the booter's
// fourth masking mode (answers held until the VM's address accepts on the port, one probe
// loop per boot however many queries wait, the timeout, resume). The "VMs" live on
// loopback addresses of the test's private network namespace: a test acceptor opened
// on 127.0.0.x:PORT is the VM's service coming up. Every wait is bounded.
#include <boost/asio/ip/tcp.hpp>

#include "booter_fixture.h"

namespace jitsu::dns::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using verdict = vm_gate::verdict;

// The VM's service: a listening socket (the kernel completes handshakes into its backlog
// without accept()), and a count of the connections it got.
struct test_service {
    tcp::acceptor acceptor;
    test_service(asio::io_context& io, const char* ip, std::uint16_t port, int backlog = 16)
        : acceptor(io) {
        const tcp::endpoint at(asio::ip::make_address_v4(ip), port);
        acceptor.open(at.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(at);
        acceptor.listen(backlog);
        acceptor.non_blocking(true);
    }
    // Accepts (and closes) every connection waiting now; returns how many.
    int drain() {
        int n = 0;
        for (;;) {
            boost::system::error_code ec;
            tcp::socket s(acceptor.get_executor());
            acceptor.accept(s, ec);
            if (ec) return n;
            ++n;
        }
    }
};

// --- the probe loop alone ---

struct jitsu_dns_booter_port_probe : ::testing::Test {
    asio::io_context io;
    std::optional<port_probe_result> result;
    clock::time_point started = clock::now(), finished;

    std::shared_ptr<pending_signal> probe(const char* ip, std::uint16_t port,
                                          port_probe_timing timing) {
        started = clock::now();
        return wait_for_port(io.get_executor(), ip_address::parse_or_throw(ip), port, timing,
                             [this](const port_probe_result& r) {
                                 result = r;
                                 finished = clock::now();
                             });
    }
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        return run_io_until(io, done, limit);
    }
};

TEST_F(jitsu_dns_booter_port_probe, refused_until_the_bound_then_gives_up) {
    auto p =
        probe("127.0.0.1", 18001, {.interval = 20ms, .attempt_timeout = 100ms, .total = 300ms});
    EXPECT_FALSE(result) << "done called from inside wait_for_port";
    ASSERT_TRUE(run_until([&] { return result.has_value(); }, 3s));
    EXPECT_FALSE(result->accepted);
    EXPECT_EQ(result->last_error, "Connection refused");
    const double took = ms_between(started, finished);
    std::printf("[timing] closed port, 300 ms bound: gave up after %.1f ms, %u attempts\n", took,
                result->attempts);
    EXPECT_GE(took, 295.0);
    EXPECT_LT(took, 600.0);
    // One attempt per interval (a refusal is immediate on loopback), not a busy loop.
    EXPECT_GE(result->attempts, 3U);
    EXPECT_LE(result->attempts, 16U);
}

TEST_F(jitsu_dns_booter_port_probe, accepts_once_the_service_listens) {
    auto p = probe("127.0.0.2", 18002, {.interval = 20ms, .attempt_timeout = 100ms, .total = 3s});
    ASSERT_FALSE(run_until([&] { return result.has_value(); }, 200ms));
    const auto listening = clock::now();
    test_service service(io, "127.0.0.2", 18002);
    ASSERT_TRUE(run_until([&] { return result.has_value(); }, 3s));
    EXPECT_TRUE(result->accepted);
    const double after = ms_between(listening, finished);
    std::printf("[timing] probe success %.2f ms after the listen (%u attempts)\n", after,
                result->attempts);
    EXPECT_LT(after, 200.0);
    EXPECT_GT(result->attempts, 2U);
    EXPECT_EQ(service.drain(), 1) << "exactly the successful probe connected";
}

// A SYN that gets no answer (here: the service's accept queue is full, so Linux drops it;
// on a bridge, a VM not on the wire yet) ends the attempt after attempt_timeout; the next
// one connects once there is room.
TEST_F(jitsu_dns_booter_port_probe, unanswered_attempts_time_out_and_are_retried) {
    test_service service(io, "127.0.0.3", 18003, /*backlog=*/1);
    // Fill the accept queue: a backlog of 1 holds two connections.
    const tcp::endpoint at(asio::ip::make_address_v4("127.0.0.3"), 18003);
    tcp::socket filler1(io), filler2(io);
    filler1.connect(at);
    filler2.connect(at);
    auto p = probe("127.0.0.3", 18003, {.interval = 20ms, .attempt_timeout = 100ms, .total = 5s});
    ASSERT_FALSE(run_until([&] { return result.has_value(); }, 450ms));
    ASSERT_EQ(service.drain(), 2);  // room again
    const auto room = clock::now();
    ASSERT_TRUE(run_until([&] { return result.has_value(); }, 3s));
    EXPECT_TRUE(result->accepted);
    EXPECT_EQ(result->last_error, "no answer within 100 ms");
    std::printf(
        "[timing] after the dropped SYNs: accepted %.1f ms after room was made, %u "
        "attempts\n",
        ms_between(room, finished), result->attempts);
    // 450 ms of 100 ms attempts + 20 ms pauses: 4 abandoned, then the one that connects.
    EXPECT_GE(result->attempts, 4U);
    EXPECT_LE(result->attempts, 7U);
    EXPECT_LT(ms_between(room, finished), 250.0);
}

TEST_F(jitsu_dns_booter_port_probe, cancel_stops_it_without_calling_back) {
    auto p =
        probe("127.0.0.4", 18004, {.interval = 20ms, .attempt_timeout = 100ms, .total = 300ms});
    ASSERT_FALSE(run_until([&] { return result.has_value(); }, 100ms));
    p->cancel();
    p.reset();
    test_service service(io, "127.0.0.4", 18004);
    EXPECT_FALSE(run_until([&] { return result.has_value(); }, 500ms));
    EXPECT_EQ(service.drain(), 0) << "a cancelled probe kept connecting";
    // Its handlers have all completed: nothing is left on the loop.
    io.restart();
    EXPECT_EQ(io.poll(), 0U);
}

// --- the booter's wait_for_port mode ---

TEST_F(jitsu_dns_booter, wait_for_port_holds_the_answer_until_the_vm_accepts) {
    add_vm(
        "name=www,dns=www.example.org,ip=127.0.0.7,wait_for_port=18007,wait_timeout=5,"
        "response_delay=0");
    backend.start_delay = 50ms;
    start_booter();
    EXPECT_EQ(tree(0, "wait_for_port"), "18007");
    auto q = query(0);
    EXPECT_EQ(*q->verdict, verdict::wait);
    run_for(400ms);
    EXPECT_FALSE(q->answered_ok.has_value()) << "answered before the VM accepted";
    EXPECT_EQ(gate->phase(0), vm_phase::booting);
    EXPECT_TRUE(tree_becomes(0, "state", "booting"));
    EXPECT_EQ(tree(0, "domid"), "5") << "the backend's domid is published while held";
    const auto listening = clock::now();
    test_service service(io, "127.0.0.7", 18007);
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 3s));
    EXPECT_TRUE(*q->answered_ok);
    const double after_listen = ms_between(listening, q->answered);
    std::printf(
        "[timing] wait_for_port: answer %.2f ms after the VM listened (%.1f ms after the "
        "query)\n",
        after_listen, q->latency_ms());
    EXPECT_GE(after_listen, 0.0);
    EXPECT_LT(after_listen, 200.0);
    EXPECT_EQ(gate->phase(0), vm_phase::running);
    EXPECT_EQ(gate->stats().port_waits, 1U);
    EXPECT_GT(gate->stats().port_probes, 2U) << "refused probes before the listen";
    EXPECT_EQ(gate->stats().wait_timeouts, 0U);
    EXPECT_EQ(service.drain(), 1);
    EXPECT_TRUE(tree_becomes(0, "state", "running"));
}

TEST_F(jitsu_dns_booter, wait_for_port_then_response_delay) {
    add_vm(
        "name=www,dns=www.example.org,ip=127.0.0.8,wait_for_port=18008,wait_timeout=5,"
        "response_delay=0.15");
    start_booter();
    auto q = query(0);
    run_for(100ms);
    const auto listening = clock::now();
    test_service service(io, "127.0.0.8", 18008);
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 3s));
    EXPECT_GE(ms_between(listening, q->answered), 145.0);
    EXPECT_LT(ms_between(listening, q->answered), 500.0);
}

TEST_F(jitsu_dns_booter, wait_for_port_answers_after_the_timeout_when_nothing_listens) {
    add_vm(
        "name=www,dns=www.example.org,ip=127.0.0.9,wait_for_port=18009,wait_timeout=0.3,"
        "response_delay=0");
    start_booter();
    auto q = query(0);
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 3s));
    EXPECT_TRUE(*q->answered_ok) << "a timeout answers anyway, as wait_for_key does";
    std::printf("[timing] wait_for_port timeout 0.3 s: answer %.1f ms after the query\n",
                q->latency_ms());
    EXPECT_GE(q->latency_ms(), 295.0);
    EXPECT_LT(q->latency_ms(), 800.0);
    EXPECT_EQ(gate->stats().wait_timeouts, 1U);
    EXPECT_EQ(gate->phase(0), vm_phase::running);
    // Running now: no more probing, answered at once.
    const auto probes = gate->stats().port_probes;
    auto q2 = query(0);
    EXPECT_EQ(*q2->verdict, verdict::answer_now);
    run_for(100ms);
    EXPECT_EQ(gate->stats().port_probes, probes);
    EXPECT_EQ(gate->stats().port_waits, 1U);
}

TEST_F(jitsu_dns_booter, wait_for_port_queries_meanwhile_share_one_probe_loop) {
    add_vm(
        "name=www,dns=www.example.org,ip=127.0.0.10,wait_for_port=18010,wait_timeout=5,"
        "response_delay=0");
    start_booter();
    for (int i = 0; i < 10; ++i) query(0);
    run_for(150ms);  // the backend has started it; the probe loop runs
    for (int i = 0; i < 10; ++i) query(0);
    run_for(150ms);
    for (const auto& q : queries) ASSERT_FALSE(q->answered_ok.has_value());
    test_service service(io, "127.0.0.10", 18010);
    ASSERT_TRUE(run_until(
        [&] {
            return std::all_of(queries.begin(), queries.end(),
                               [](const auto& q) { return q->answered_ok.has_value(); });
        },
        3s));
    for (const auto& q : queries) EXPECT_TRUE(*q->answered_ok);
    EXPECT_EQ(backend.starts.load(), 1);
    EXPECT_EQ(gate->stats().port_waits, 1U);
    EXPECT_EQ(gate->stats().answers_released, 20U);
    // One loop: one probe connection reached the service, not one per query.
    run_for(100ms);
    EXPECT_EQ(service.drain(), 1);
}

TEST_F(jitsu_dns_booter, wait_for_port_stopped_vm_ends_the_probe_loop) {
    // The wait ends with the VM's boot (here: jitsu-dns shutting down while it is held):
    // no probe loop is left behind.
    add_vm(
        "name=www,dns=www.example.org,ip=127.0.0.11,wait_for_port=18011,wait_timeout=5,"
        "response_delay=0");
    start_booter();
    auto q = query(0);
    ASSERT_TRUE(run_until([&] { return gate->stats().port_waits == 1; }, 2s));
    shutdown(false);
    ASSERT_TRUE(q->answered_ok.has_value());
    EXPECT_FALSE(*q->answered_ok);
    gate.reset();
    test_service service(io, "127.0.0.11", 18011);
    run_for(300ms);
    EXPECT_EQ(service.drain(), 0) << "the probe loop outlived its VM's wait";
}

TEST_F(jitsu_dns_booter, wait_for_port_resumed_vm_is_answered_at_once) {
    // A suspended VM was listening when it was suspended: its socket is back the moment it
    // resumes, so (as with wait_for_key) the answers go out when the resume returns,
    // without probing. Nothing listens here: a probe would hold the answer.
    add_vm(
        "name=www,dns=www.example.org,ip=127.0.0.12,wait_for_port=18012,wait_timeout=5,"
        "stop_mode=suspend");
    backend.preset("www", vm_power::suspended, 9);
    start_booter();
    ASSERT_EQ(gate->phase(0), vm_phase::suspended);
    auto q = query(0);
    EXPECT_EQ(*q->verdict, verdict::wait);
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 3s));
    EXPECT_TRUE(*q->answered_ok);
    EXPECT_LT(q->latency_ms(), 200.0);
    EXPECT_EQ(backend.resumes.load(), 1);
    EXPECT_EQ(gate->stats().port_waits, 0U);
    EXPECT_EQ(gate->phase(0), vm_phase::running);
}

}  // namespace
}  // namespace jitsu::dns::test
