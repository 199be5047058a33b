// Idle stop, suspend/resume, VMs dying on their own, reconcile at start, shutdown, and
// the state tree's content.
#include <algorithm>

#include "booter_fixture.h"
#include "jitsu_dns/idle_stopper.h"

namespace jitsu::dns::test {
namespace {

using verdict = vm_gate::verdict;

TEST_F(jitsu_dns_booter, idle_vm_is_stopped_after_two_ttl) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,ttl=1");
    start_booter();
    auto q = query(0);
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::running; }, 3s));
    const auto up = clock::now();
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 5s));
    const double idle_ms = ms_between(up, clock::now());
    std::printf("[timing] ttl=1: stopped %.0f ms after it came up\n", idle_ms);
    EXPECT_GE(idle_ms, 1900.0);
    EXPECT_LT(idle_ms, 2600.0);
    EXPECT_EQ(backend.stops.load(), 1);
    EXPECT_EQ(backend.last_stop_mode.load(), stop_mode::destroy);
    EXPECT_EQ(backend.power("www"), vm_power::stopped);
    EXPECT_TRUE(tree_becomes(0, "state", "stopped"));
    EXPECT_EQ(tree(0, "domid"), "<absent>");
    // A later query boots it again.
    auto again = query(0);
    EXPECT_EQ(*again->verdict, verdict::wait);
    ASSERT_TRUE(run_until([&] { return again->answered_ok.has_value(); }, 3s));
    EXPECT_TRUE(*again->answered_ok);
    EXPECT_EQ(backend.starts.load(), 2);
}

TEST_F(jitsu_dns_booter, queries_keep_a_vm_alive) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,ttl=1");
    start_booter();
    query(0);
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::running; }, 3s));
    for (int i = 0; i < 6; ++i) {  // 3 s of queries every 0.5 s: never idle for 2 s
        run_for(500ms);
        EXPECT_EQ(*query(0)->verdict, verdict::answer_now);
    }
    EXPECT_EQ(gate->phase(0), vm_phase::running);
    EXPECT_EQ(backend.stops.load(), 0);
}

TEST_F(jitsu_dns_booter, idle_deadline_counts_from_the_later_of_query_and_boot) {
    vm_spec spec;
    spec.ttl = 3;
    vm_runtime rt;
    EXPECT_FALSE(idle_deadline(spec, rt).has_value()) << "stopped VMs never idle";
    rt.phase = vm_phase::running;
    rt.last_query = steady_time(std::chrono::seconds(10));
    rt.active_since = steady_time(std::chrono::seconds(12));
    EXPECT_EQ(idle_deadline(spec, rt), steady_time(std::chrono::seconds(18)));
    rt.last_query = steady_time(std::chrono::seconds(20));
    EXPECT_EQ(idle_deadline(spec, rt), steady_time(std::chrono::seconds(26)));
    spec.ttl = 0;
    EXPECT_FALSE(idle_deadline(spec, rt).has_value()) << "ttl 0 keeps a VM running";
}

TEST_F(jitsu_dns_booter, suspended_vm_is_resumed_by_a_query) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,ttl=1,stop_mode=suspend");
    start_booter();
    query(0);
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::suspended; }, 5s));
    EXPECT_EQ(backend.last_stop_mode.load(), stop_mode::suspend);
    EXPECT_EQ(backend.power("www"), vm_power::suspended);
    EXPECT_TRUE(tree_becomes(0, "state", "suspended"));
    EXPECT_EQ(tree(0, "domid"), "5");
    auto q = query(0);
    EXPECT_EQ(*q->verdict, verdict::wait);
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 3s));
    EXPECT_TRUE(*q->answered_ok);
    std::printf("[timing] resume: answer %.2f ms after the query\n", q->latency_ms());
    EXPECT_EQ(backend.resumes.load(), 1);
    EXPECT_EQ(backend.starts.load(), 1) << "resumed, not booted again";
    EXPECT_EQ(backend.power("www"), vm_power::running);
    EXPECT_TRUE(tree_becomes(0, "state", "running"));
}

TEST_F(jitsu_dns_booter, query_while_stopping_boots_it_again_afterwards) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,ttl=1");
    backend.stop_delay = 300ms;
    start_booter();
    query(0);
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopping; }, 5s));
    auto q = query(0);
    EXPECT_EQ(*q->verdict, verdict::wait);
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 3s));
    EXPECT_TRUE(*q->answered_ok);
    EXPECT_EQ(backend.stops.load(), 1);
    EXPECT_EQ(backend.starts.load(), 2);
    EXPECT_EQ(gate->phase(0), vm_phase::running);
}

TEST_F(jitsu_dns_booter, vm_dying_on_its_own_is_noticed) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10");
    // Dying within boot_grace of its answer would be a failed boot (failed_boot_test).
    options.boot_grace = 100ms;
    start_booter();
    query(0);
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::running; }, 3s));
    run_for(250ms);
    backend.kill("www");
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 2s));
    EXPECT_EQ(gate->stats().deaths, 1U);
    EXPECT_TRUE(tree_becomes(0, "state", "stopped"));
    auto q = query(0);
    EXPECT_EQ(*q->verdict, verdict::wait);
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 3s));
    EXPECT_EQ(backend.starts.load(), 2);
}

TEST_F(jitsu_dns_booter, reconcile_adopts_a_running_vm_without_starting_it) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,ttl=1");
    add_vm("name=db,dns=db.example.org,ip=10.0.0.11");
    add_vm("name=old,dns=old.example.org,ip=10.0.0.12");
    backend.preset("www", vm_power::running, 7);
    backend.preset("old", vm_power::suspended, 9);
    start_booter();
    EXPECT_EQ(gate->phase(0), vm_phase::running);
    EXPECT_EQ(gate->phase(1), vm_phase::stopped);
    EXPECT_EQ(gate->phase(2), vm_phase::suspended);
    EXPECT_EQ(gate->stats().adopted, 1U);
    EXPECT_EQ(tree(0, "state"), "running");
    EXPECT_EQ(tree(0, "domid"), "7");
    EXPECT_EQ(tree(1, "state"), "stopped");
    EXPECT_EQ(tree(2, "state"), "suspended");
    EXPECT_EQ(tree(2, "domid"), "9");
    EXPECT_EQ(*query(0)->verdict, verdict::answer_now);
    EXPECT_EQ(backend.starts.load(), 0);
    // Its idle timer started at adoption: stopped after 2xTTL without queries.
    const auto adopted = clock::now();
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::stopped; }, 5s));
    EXPECT_GE(ms_between(adopted, clock::now()), 1800.0);
}

TEST_F(jitsu_dns_booter, reconcile_clears_stale_synjitsu_entries) {
    options.synjitsu = true;
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10,use_synjitsu=1");
    add_vm("name=db,dns=db.example.org,ip=10.0.0.11,use_synjitsu=1");
    add_vm("name=up,dns=up.example.org,ip=10.0.0.12,use_synjitsu=1");
    backend.preset("db", vm_power::running, 7);
    backend.preset("up", vm_power::running, 8);
    ASSERT_TRUE(inspect->write("/synjitsu/booting/10-0-0-10", "00:16:3e:00:00:0a").ok());
    ASSERT_TRUE(inspect->write("/synjitsu/booting/10-0-0-11", "00:16:3e:00:00:0b").ok());
    ASSERT_TRUE(inspect->write("/synjitsu/booting/10-0-0-12", "00:16:3e:00:00:0c").ok());
    ASSERT_TRUE(inspect->write("/ip/10-0-0-11", "managed").ok());
    start_booter();
    // www is stopped, db is managed already: both entries are stale.
    EXPECT_TRUE(
        run_until([&] { return xs_read("/synjitsu/booting/10-0-0-10") == "<absent>"; }, 2s));
    EXPECT_TRUE(
        run_until([&] { return xs_read("/synjitsu/booting/10-0-0-11") == "<absent>"; }, 2s));
    // up runs but its stack has not taken over: kept until it does.
    run_for(100ms);
    EXPECT_EQ(xs_read("/synjitsu/booting/10-0-0-12"), "00:16:3e:00:00:0c");
    ASSERT_TRUE(inspect->write("/ip/10-0-0-12", "managed").ok());
    EXPECT_TRUE(
        run_until([&] { return xs_read("/synjitsu/booting/10-0-0-12") == "<absent>"; }, 2s));
}

TEST_F(jitsu_dns_booter, state_tree_holds_the_catalog_and_runtime) {
    add_vm(
        "name=www,dns=www.example.org,dns=web.example.org,ip=10.0.0.10,ttl=30,"
        "response_delay=0.25,wait_for_key=data/status,wait_timeout=0.2,disk=a@xvda,"
        "disk=b@xvdb,stop_mode=shutdown");
    ASSERT_TRUE(inspect->write("/jitsu/vm/0000-stale/state", "running").ok());
    start_booter();
    EXPECT_EQ(xs_read("/jitsu/vm/0000-stale/state"), "<absent>") << "earlier catalog kept";
    EXPECT_EQ(tree(0, "config/name/0"), "www");
    EXPECT_EQ(tree(0, "config/dns/0"), "www.example.org");
    EXPECT_EQ(tree(0, "config/dns/1"), "web.example.org");
    EXPECT_EQ(tree(0, "config/disk/0"), "a@xvda");
    EXPECT_EQ(tree(0, "config/disk/1"), "b@xvdb");
    EXPECT_EQ(tree(0, "config/response_delay/0"), "0.25");
    EXPECT_EQ(tree(0, "dns/0/name"), "www.example.org");
    EXPECT_EQ(tree(0, "dns/0/ttl"), "30");
    EXPECT_EQ(tree(0, "dns/1/name"), "web.example.org");
    EXPECT_EQ(tree(0, "dns/1/ttl"), "30");
    EXPECT_EQ(tree(0, "ip"), "10.0.0.10");
    EXPECT_EQ(tree(0, "mac"), catalog[0].mac.to_string());
    EXPECT_EQ(tree(0, "response_delay"), "0.25");
    EXPECT_EQ(tree(0, "stop_mode"), "shutdown");
    EXPECT_EQ(tree(0, "use_synjitsu"), "false");
    EXPECT_EQ(tree(0, "wait_for_key"), "data/status");
    EXPECT_EQ(tree(0, "state"), "stopped");
    EXPECT_EQ(tree(0, "last_request"), "<absent>");

    const auto before = std::chrono::system_clock::now();
    auto q = query(0);
    EXPECT_TRUE(tree_becomes(0, "state", "booting", 1s));
    ASSERT_TRUE(run_until([&] { return q->answered_ok.has_value(); }, 3s));
    EXPECT_TRUE(tree_becomes(0, "state", "running"));
    EXPECT_EQ(tree(0, "domid"), "5");
    // last_request: the query's unix time, written by the coalesced flush.
    ASSERT_TRUE(run_until([&] { return tree(0, "last_request") != "<absent>"; }, 2s));
    const double written = std::stod(tree(0, "last_request"));
    const double expected = std::chrono::duration<double>(before.time_since_epoch()).count();
    EXPECT_NEAR(written, expected, 0.5);
    auto dir = inspect->directory("/jitsu/vm/" + catalog[0].uuid);
    ASSERT_TRUE(dir.ok());
    std::sort(dir->begin(), dir->end());
    const std::vector<std::string> expected_keys{
        "config",         "dns",   "domid",     "ip",           "last_request", "mac",
        "response_delay", "state", "stop_mode", "use_synjitsu", "wait_for_key"};
    EXPECT_EQ(*dir, expected_keys);
}

TEST_F(jitsu_dns_booter, shutdown_leaves_vms_running_and_fails_held_queries) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10");
    add_vm("name=db,dns=db.example.org,ip=10.0.0.11,wait_for_key=data/status,wait_timeout=30");
    start_booter();
    query(0);
    ASSERT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::running; }, 3s));
    auto held = query(1);  // waits for a key that never comes
    run_for(100ms);
    ASSERT_FALSE(held->answered_ok.has_value());
    run_for(300ms);  // a last_request flush
    shutdown(false);
    ASSERT_TRUE(run_until([&] { return held->answered_ok.has_value(); }, 1s));
    EXPECT_FALSE(*held->answered_ok);
    EXPECT_EQ(backend.stops.load(), 0);
    EXPECT_EQ(backend.power("www"), vm_power::running);
    EXPECT_EQ(backend.power("db"), vm_power::running);
    EXPECT_EQ(tree(0, "state"), "running");
    EXPECT_EQ(tree(1, "state"), "running") << "started VM shown as running at exit";
    EXPECT_NE(tree(0, "last_request"), "<absent>");
    gate.reset();
}

TEST_F(jitsu_dns_booter, shutdown_with_stop_on_exit_stops_every_vm) {
    add_vm("name=www,dns=www.example.org,ip=10.0.0.10");
    add_vm("name=db,dns=db.example.org,ip=10.0.0.11,stop_mode=suspend");
    add_vm("name=idle,dns=idle.example.org,ip=10.0.0.12");
    start_booter();
    query(0);
    query(1);
    ASSERT_TRUE(run_until(
        [&] { return gate->phase(0) == vm_phase::running && gate->phase(1) == vm_phase::running; },
        3s));
    shutdown(true);
    EXPECT_EQ(backend.stops.load(), 2);
    EXPECT_EQ(backend.power("www"), vm_power::stopped);
    EXPECT_EQ(backend.power("db"), vm_power::stopped) << "suspend mode destroys at exit";
    EXPECT_EQ(tree(0, "state"), "stopped");
    EXPECT_EQ(tree(1, "state"), "stopped");
    EXPECT_EQ(tree(2, "state"), "stopped");
    gate.reset();
}

}  // namespace
}  // namespace jitsu::dns::test
