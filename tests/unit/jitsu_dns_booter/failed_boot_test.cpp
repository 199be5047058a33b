// A VM the backend started but that fails while booting: it ends (a backend that reports
// progress: EOF on its progress pipe; one that does not: status() says stopped), reports
// `failed: WHY`, or never says `ready`. Each must end as a failed boot: held queries get
// SERVFAIL, `error` in the tree, and a back-off (doubling, reset by a good boot) during
// which queries get SERVFAIL without a new start.
#include "booter_fixture.h"

namespace jitsu::dns::test {
namespace {

using verdict = vm_gate::verdict;

struct jitsu_dns_booter_failed_boot : booter_fixture {
    void SetUp() override {
        booter_fixture::SetUp();
        options.boot_poll = 20ms;
    }
    bool answered(const std::shared_ptr<query_record>& q, std::chrono::milliseconds limit = 3s) {
        return run_until([&] { return q->answered_ok.has_value(); }, limit);
    }
};

TEST_F(jitsu_dns_booter_failed_boot, vm_ending_before_its_answer_gets_servfail_and_backoff) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,response_delay=0.4");
    backend.dies_after_start = 30ms;
    start_booter();
    auto q = query(0);
    ASSERT_EQ(*q->verdict, verdict::wait);
    ASSERT_TRUE(answered(q));
    EXPECT_FALSE(*q->answered_ok) << "a VM that died while booting was answered";
    EXPECT_LT(q->latency_ms(), 400.0) << "failure noticed only after response_delay";
    EXPECT_TRUE(tree_becomes(0, "error", "stopped during boot: fake: died during boot"));
    EXPECT_EQ(tree(0, "state"), "stopped");
    auto again = query(0);
    EXPECT_EQ(*again->verdict, verdict::servfail);
    EXPECT_EQ(backend.starts.load(), 1) << "started again within the back-off";
    EXPECT_EQ(gate->stats().boots_ended_early, 1U);
    EXPECT_EQ(gate->stats().backoff_refusals, 1U);
}

TEST_F(jitsu_dns_booter_failed_boot, vm_ending_soon_after_its_answer_is_a_failed_boot) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,response_delay=0");
    options.boot_grace = 2s;
    backend.dies_after_start = 150ms;
    start_booter();
    auto q = query(0);
    ASSERT_TRUE(answered(q));
    EXPECT_TRUE(*q->answered_ok);
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 2s));
    EXPECT_TRUE(tree_becomes(0, "error", "stopped during boot: fake: died during boot"));
    EXPECT_EQ(gate->stats().deaths, 0U);
    EXPECT_EQ(*query(0)->verdict, verdict::servfail) << "crash loop: booted again at once";
    EXPECT_EQ(backend.starts.load(), 1);
}

TEST_F(jitsu_dns_booter_failed_boot, vm_dying_after_the_grace_is_a_death_not_a_failure) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,response_delay=0");
    options.boot_grace = 100ms;
    start_booter();
    ASSERT_TRUE(answered(query(0)));
    run_for(300ms);  // confirmed: alive boot_grace after its answer
    backend.kill("www");
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 2s));
    EXPECT_EQ(gate->stats().deaths, 1U);
    EXPECT_EQ(gate->stats().boot_failures, 0U);
    EXPECT_EQ(*query(0)->verdict, verdict::wait) << "a death must not hold back the next boot";
}

TEST_F(jitsu_dns_booter_failed_boot, backoff_doubles_and_a_good_boot_resets_it) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,response_delay=0,ttl=1");
    options.retry_backoff = 200ms;
    options.retry_backoff_max = 500ms;
    options.boot_grace = 100ms;
    backend.fail_start = true;
    start_booter();
    ASSERT_TRUE(answered(query(0)));  // failure 1: 200 ms
    run_for(260ms);
    ASSERT_TRUE(answered(query(0)));  // failure 2: 400 ms
    EXPECT_EQ(backend.starts.load(), 2);
    run_for(260ms);
    EXPECT_EQ(*query(0)->verdict, verdict::servfail) << "back-off did not double";
    EXPECT_EQ(backend.starts.load(), 2);
    run_for(200ms);
    ASSERT_TRUE(answered(query(0)));  // failure 3: 800 ms capped at 500 ms
    EXPECT_EQ(backend.starts.load(), 3);
    run_for(450ms);
    EXPECT_EQ(*query(0)->verdict, verdict::servfail);
    run_for(100ms);
    backend.fail_start = false;
    auto good = query(0);
    ASSERT_TRUE(answered(good)) << "not retried after the capped back-off";
    EXPECT_TRUE(*good->answered_ok);
    EXPECT_EQ(backend.starts.load(), 4);
    // Confirmed (the fake reports no progress): alive boot_grace (100 ms) after its answer.
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 4s));  // ttl=1
    backend.fail_start = true;
    ASSERT_TRUE(answered(query(0)));
    run_for(260ms);
    EXPECT_EQ(*query(0)->verdict, verdict::wait) << "back-off not reset by the good boot";
}

// Backends with a progress descriptor (netns: jitsu-netvm --ready-fd).
struct jitsu_dns_booter_progress : jitsu_dns_booter_failed_boot {
    void SetUp() override {
        jitsu_dns_booter_failed_boot::SetUp();
        backend.with_progress = true;
    }
    // Runs the loop until the backend has started `n` VMs (the pipe exists).
    void await_starts(int n) {
        ASSERT_TRUE(run_until([&] { return backend.starts.load() >= n; }, 2s));
        run_for(10ms);
    }
};

TEST_F(jitsu_dns_booter_progress, setup_failure_answers_servfail_with_the_reason) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,response_delay=0");
    backend.ended_reason = "jitsu-netvm exited with 1 (setting up failed)";
    start_booter();
    auto q = query(0);
    auto q2 = query(0);
    await_starts(1);
    EXPECT_FALSE(q->answered_ok.has_value()) << "answered before the VM was set up";
    backend.say("www", "failed: no bridge 'br9'");
    backend.close_progress("www");
    ASSERT_TRUE(answered(q));
    ASSERT_TRUE(answered(q2));
    EXPECT_FALSE(*q->answered_ok);
    EXPECT_FALSE(*q2->answered_ok);
    EXPECT_TRUE(tree_becomes(
        0, "error",
        "ended during boot: jitsu-netvm exited with 1 (setting up failed): no bridge 'br9'"));
    EXPECT_EQ(tree(0, "state"), "stopped");
    EXPECT_EQ(backend.endeds.load(), 1) << "the ended VM must be reaped by the backend";
    for (int i = 0; i < 5; ++i) EXPECT_EQ(*query(0)->verdict, verdict::servfail);
    EXPECT_EQ(backend.starts.load(), 1);
}

TEST_F(jitsu_dns_booter_progress, answers_wait_for_started_then_response_delay) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,response_delay=0.05");
    start_booter();
    auto q = query(0);
    await_starts(1);
    run_for(150ms);
    EXPECT_FALSE(q->answered_ok.has_value());
    const auto said = clock::now();
    backend.say("www", "started");
    ASSERT_TRUE(answered(q));
    EXPECT_TRUE(*q->answered_ok);
    EXPECT_LT(ms_between(said, q->answered), 100.0);
    EXPECT_EQ(gate->booting_now(), 1U) << "the boot slot is held until `ready`";
    backend.say("www", "ready");
    ASSERT_TRUE(run_until([&] { return gate->booting_now() == 0; }, 1s));
    // Ending after `ready`: a death, no error, the next query boots again.
    backend.close_progress("www");
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 2s));
    EXPECT_EQ(gate->stats().deaths, 1U);
    EXPECT_EQ(gate->stats().boot_failures, 0U);
    EXPECT_EQ(tree(0, "error"), "<absent>");
    EXPECT_EQ(*query(0)->verdict, verdict::wait);
}

TEST_F(jitsu_dns_booter_progress, vm_failing_after_its_answer_still_fails_the_boot) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,response_delay=0");
    start_booter();
    auto q = query(0);
    await_starts(1);
    backend.say("www", "started");
    ASSERT_TRUE(answered(q));
    EXPECT_TRUE(*q->answered_ok);
    backend.say("www", "failed: CMD did not listen on any TCP port within 30000 ms");
    backend.close_progress("www");
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 2s));
    EXPECT_TRUE(tree_becomes(
        0, "error", "ended during boot: CMD did not listen on any TCP port within 30000 ms"));
    EXPECT_EQ(*query(0)->verdict, verdict::servfail);
}

TEST_F(jitsu_dns_booter_progress, never_ready_is_stopped_and_failed) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,response_delay=0.5");
    options.boot_timeout = 300ms;
    start_booter();
    auto q = query(0);
    await_starts(1);  // no `started`, no `ready`: a hung boot
    ASSERT_TRUE(answered(q));
    EXPECT_FALSE(*q->answered_ok);
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 2s));
    EXPECT_EQ(backend.stops.load(), 1) << "a VM that never came up must be stopped";
    EXPECT_EQ(backend.power("www"), vm_power::stopped);
    EXPECT_TRUE(
        tree_becomes(0, "error", "not ready within 300 ms of its start (boot_delay + 300 ms)"));
    EXPECT_EQ(gate->stats().boot_timeouts, 1U);
    EXPECT_EQ(*query(0)->verdict, verdict::servfail);
}

}  // namespace
}  // namespace jitsu::dns::test
