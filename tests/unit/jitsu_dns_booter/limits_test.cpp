// --max-booting and --max-running: a flood of queries for many stopped VMs boots at most
// max_booting at once (the rest queued, answers held, up to 4 x max_booting VMs, each for
// at most boot_queue_wait; beyond: SERVFAIL), and never more than max_running VMs run.
#include <algorithm>

#include "booter_fixture.h"

namespace jitsu::dns::test {
namespace {

using verdict = vm_gate::verdict;

struct jitsu_dns_booter_limits : booter_fixture {
    void add_vms(int n, const std::string& extra) {
        for (int i = 0; i < n; ++i) {
            add_vm("name=vm" + std::to_string(i) + ",dns=vm" + std::to_string(i) +
                   ".example.org,ip=10.0.1." + std::to_string(i + 1) + extra);
        }
    }
    // VMs in the booting phase now, counted from the outside (not the booter's counter).
    int booting_phase() const {
        int n = 0;
        for (std::size_t i = 0; i < gate->size(); ++i) n += gate->phase(i) == vm_phase::booting;
        return n;
    }
    bool all_answered() const {
        return std::all_of(queries.begin(), queries.end(),
                           [](const auto& q) { return q->answered_ok.has_value(); });
    }
};

TEST_F(jitsu_dns_booter_limits, forty_vms_at_once_boot_at_most_max_booting_at_a_time) {
    add_vms(40, ",response_delay=0.08");
    options.max_booting = 8;
    backend.start_delay = 1ms;
    start_booter();
    for (std::size_t vm = 0; vm < 40; ++vm) EXPECT_EQ(*query(vm)->verdict, verdict::wait);
    int most = 0;
    const auto t0 = clock::now();
    ASSERT_TRUE(run_until(
        [&] {
            most = std::max(most, booting_phase());
            return all_answered();
        },
        10s));
    std::printf(
        "[timing] 40 VMs, --max-booting 8, response_delay 80 ms: all answered in %.0f ms, "
        "at most %d booting\n",
        ms_between(t0, clock::now()), most);
    EXPECT_LE(most, 8);
    EXPECT_EQ(most, 8) << "the limit should be used, not undershot";
    for (const auto& q : queries) EXPECT_TRUE(*q->answered_ok);
    EXPECT_EQ(backend.starts.load(), 40);
    EXPECT_EQ(gate->stats().boots_queued, 32U);
    EXPECT_EQ(gate->stats().max_booting_seen, 8U);
    EXPECT_EQ(gate->stats().boots_refused_booting, 0U);
    EXPECT_TRUE(tree_becomes(39, "state", "running"));
}

TEST_F(jitsu_dns_booter_limits, queue_beyond_four_times_max_booting_gets_servfail) {
    add_vms(40, ",response_delay=0.05");
    options.max_booting = 2;
    start_booter();
    int waits = 0, servfails = 0;
    for (std::size_t vm = 0; vm < 40; ++vm) {
        const auto v = *query(vm)->verdict;
        waits += v == verdict::wait;
        servfails += v == verdict::servfail;
    }
    EXPECT_EQ(waits, 10);  // 2 booting + 8 queued
    EXPECT_EQ(servfails, 30);
    EXPECT_EQ(gate->queued_now(), 8U);
    EXPECT_EQ(gate->stats().boots_refused_booting, 30U);
    ASSERT_TRUE(run_until([&] { return all_answered(); }, 5s));
    EXPECT_EQ(backend.starts.load(), 10);
    // A refused VM is still stopped, with no error and no back-off.
    EXPECT_EQ(gate->phase(39), vm_phase::stopped);
    EXPECT_EQ(tree(39, "error"), "<absent>");
    EXPECT_EQ(*query(39)->verdict, verdict::wait);
}

TEST_F(jitsu_dns_booter_limits, queued_vm_without_a_slot_in_time_gets_servfail) {
    add_vms(2, ",response_delay=1");
    options.max_booting = 1;
    options.boot_queue_wait = 200ms;
    start_booter();
    auto first = query(0);
    auto second = query(1);
    EXPECT_EQ(*second->verdict, verdict::wait);
    EXPECT_EQ(gate->phase(1), vm_phase::queued);
    EXPECT_TRUE(tree_becomes(1, "state", "booting"));
    ASSERT_TRUE(run_until([&] { return second->answered_ok.has_value(); }, 2s));
    EXPECT_FALSE(*second->answered_ok);
    EXPECT_GE(second->latency_ms(), 190.0);
    EXPECT_LT(second->latency_ms(), 600.0);
    EXPECT_EQ(gate->phase(1), vm_phase::stopped);
    EXPECT_EQ(backend.starts.load(), 1);
    EXPECT_EQ(gate->stats().boots_refused_booting, 1U);
    ASSERT_TRUE(run_until([&] { return first->answered_ok.has_value(); }, 3s));
    EXPECT_TRUE(*first->answered_ok);
}

TEST_F(jitsu_dns_booter_limits, max_running_refuses_one_more_until_one_stops) {
    add_vm("name=vm0,dns=vm0.example.org,ip=10.0.1.1,response_delay=0,ttl=1");
    for (int i = 1; i < 5; ++i) {
        add_vm("name=vm" + std::to_string(i) + ",dns=vm" + std::to_string(i) +
               ".example.org,ip=10.0.1." + std::to_string(i + 1) + ",response_delay=0");
    }
    options.max_running = 3;
    start_booter();
    EXPECT_EQ(*query(0)->verdict, verdict::wait);
    EXPECT_EQ(*query(1)->verdict, verdict::wait);
    EXPECT_EQ(*query(2)->verdict, verdict::wait);
    EXPECT_EQ(*query(3)->verdict, verdict::servfail) << "a 4th VM booting with --max-running 3";
    ASSERT_TRUE(run_until([&] { return gate->phase(2) == vm_phase::running; }, 2s));
    EXPECT_EQ(*query(4)->verdict, verdict::servfail);
    EXPECT_EQ(*query(1)->verdict, verdict::answer_now) << "running VMs are still answered";
    EXPECT_EQ(backend.starts.load(), 3);
    EXPECT_EQ(backend.max_running(), 3);
    EXPECT_EQ(gate->stats().boots_refused_running, 2U);
    // vm0 idles out (ttl 1): room for one more.
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 4s));
    auto q = query(3);
    EXPECT_EQ(*q->verdict, verdict::wait);
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 2s));
    EXPECT_TRUE(*q->answered_ok);
    EXPECT_EQ(backend.max_running(), 3);
}

}  // namespace
}  // namespace jitsu::dns::test
