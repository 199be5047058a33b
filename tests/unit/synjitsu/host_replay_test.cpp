// host_replay's state machine alone (fake prober and taker, time as an argument): probes
// refused then accepted, overlapping attempts and their timeouts, the total bound, an
// entry removed mid-probe or mid-take, failed takes, ports from hints and from SYNs,
// the bounds on sockets, ports and remembered probe 4-tuples.
#include "synjitsu/host_replay.h"

#include <gtest/gtest.h>

#include <set>

#include "host_replay_fakes.h"

namespace jitsu::synjitsu {
namespace {

constexpr std::uint64_t ms = 1'000'000ULL;
constexpr std::uint64_t t0 = 1'000'000 * ms;
const ip_address vm = *ip_address::parse("10.0.0.10");
const ip_address vm2 = *ip_address::parse("10.0.0.11");
const mac_address vm_mac = *mac_address::parse("02:00:0a:00:00:0a");

queued_syn syn_from(std::uint16_t client_port, std::uint16_t port = 80) {
    queued_syn s;
    s.tuple = {vm, port, *ip_address::parse("10.1.0.11"), client_port};
    return s;
}

take_outcome taken(std::vector<queued_syn> syns) {
    take_outcome o;
    o.ok = true;
    o.syns = std::move(syns);
    return o;
}

struct synjitsu_host_replay : ::testing::Test {
    test::fake_prober probes;
    test::fake_taker taker;
    booting_table table;
    metrics m;
    host_replay_limits limits = [] {
        host_replay_limits l;
        l.interval_ns = 10 * ms;
        l.attempt_timeout_ns = 100 * ms;
        l.give_up_ns = 2000 * ms;
        return l;
    }();
    std::unique_ptr<host_replay> hr;
    std::vector<host_replay_result> finished;

    void SetUp() override { make(); }
    void make() {
        hr = std::make_unique<host_replay>(probes, taker, table, m, limits);
        hr->on_finished([this](host_replay_result&& r) { finished.push_back(std::move(r)); });
    }
    // on_tick every `step` from `from` to `to` (inclusive).
    void tick(std::uint64_t from, std::uint64_t to, std::uint64_t step = 1 * ms) {
        for (std::uint64_t t = from; t <= to; t += step) hr->on_tick(t);
    }
    std::uint64_t last_ticket() const { return taker.takes.back().ticket; }
};

TEST_F(synjitsu_host_replay, refused_then_accepted_takes_the_queue_and_hands_it_over) {
    const std::uint16_t hints[] = {80};
    hr->start(vm, vm_mac, hints, t0);
    ASSERT_EQ(probes.starts.size(), 1U);  // at once, not one interval later
    EXPECT_EQ(probes.starts[0].port, 80);
    EXPECT_EQ(probes.prepared.size(), 1U);
    EXPECT_TRUE(table.excluded(probes.starts[0].tuple));  // before any SYN could be seen

    probes.report(*hr, probes.starts[0].id, probe_outcome::refused, t0 + 1 * ms);
    EXPECT_EQ(m.probes_refused, 1U);
    tick(t0 + 2 * ms, t0 + 9 * ms);
    EXPECT_EQ(probes.starts.size(), 1U);  // the next one waits for the interval
    hr->on_tick(t0 + 10 * ms);
    ASSERT_EQ(probes.starts.size(), 2U);

    probes.report(*hr, probes.starts[1].id, probe_outcome::accepted, t0 + 11 * ms);
    EXPECT_EQ(m.probes_accepted, 1U);
    ASSERT_EQ(taker.takes.size(), 1U);
    EXPECT_EQ(taker.takes[0].ip, vm);
    EXPECT_TRUE(hr->taking(vm));
    tick(t0 + 12 * ms, t0 + 50 * ms);
    EXPECT_EQ(probes.starts.size(), 2U);  // no probing while taking
    EXPECT_TRUE(finished.empty());

    hr->on_take_done(last_ticket(), taken({syn_from(40001), syn_from(40002)}), t0 + 52 * ms);
    ASSERT_EQ(finished.size(), 1U);
    EXPECT_EQ(finished[0].how, host_replay_result::kind::replayed);
    EXPECT_EQ(finished[0].ip, vm);
    EXPECT_EQ(finished[0].mac, vm_mac);
    EXPECT_EQ(finished[0].syns.size(), 2U);
    EXPECT_EQ(finished[0].at_ns, t0 + 52 * ms);
    EXPECT_FALSE(hr->probing(vm));
    EXPECT_EQ(m.host_replays, 1U);
    EXPECT_EQ(m.probes_sent, 2U);
    EXPECT_EQ(m.host_replay_vms, 0U);

    // The probes' 4-tuples stay excluded for the grace period, then nothing is left.
    EXPECT_EQ(table.exclusions(), 2U);
    ASSERT_TRUE(hr->next_wakeup());
    hr->on_tick(t0 + 11 * ms + limits.exclusion_grace_ns);
    EXPECT_EQ(table.exclusions(), 0U);
    EXPECT_FALSE(hr->next_wakeup());
}

TEST_F(synjitsu_host_replay, unanswered_attempts_overlap_and_time_out) {
    const std::uint16_t hints[] = {80};
    hr->start(vm, vm_mac, hints, t0);
    std::size_t most_open = 0;
    for (std::uint64_t t = t0; t <= t0 + 300 * ms; t += 1 * ms) {
        hr->on_tick(t);
        most_open = std::max(most_open, probes.open.size());
    }
    // One attempt per interval, each abandoned after the attempt timeout.
    EXPECT_EQ(probes.starts.size(), 31U);
    EXPECT_EQ(m.probes_timed_out, 21U);  // those started up to t0 + 200 ms
    EXPECT_EQ(probes.cancels.size(), 21U);
    EXPECT_EQ(probes.cancels.front(), probes.starts.front().id);
    EXPECT_LE(most_open, 11U);
    EXPECT_EQ(hr->in_flight(), probes.open.size());
    EXPECT_TRUE(taker.takes.empty());
    // The VM comes up: the newest attempt's SYN gets through.
    probes.report(*hr, probes.open.back(), probe_outcome::accepted, t0 + 301 * ms);
    EXPECT_EQ(taker.takes.size(), 1U);
    EXPECT_TRUE(probes.open.empty());  // the others on that port are cancelled
    EXPECT_EQ(hr->in_flight(), 0U);
}

TEST_F(synjitsu_host_replay, gives_up_after_the_total_bound_and_drops_the_queue) {
    limits.give_up_ns = 500 * ms;
    make();
    const std::uint16_t hints[] = {80};
    hr->start(vm, vm_mac, hints, t0);
    for (std::uint64_t t = t0; t < t0 + 500 * ms; t += 1 * ms) {
        hr->on_tick(t);
        for (const auto id : probes.open_on(80)) probes.report(*hr, id, probe_outcome::refused, t);
    }
    EXPECT_EQ(m.host_replay_give_ups, 0U);
    const std::size_t started = probes.starts.size();
    EXPECT_EQ(started, 50U);
    hr->on_tick(t0 + 500 * ms);
    hr->on_tick(t0 + 500 * ms);  // once
    EXPECT_EQ(m.host_replay_give_ups, 1U);
    ASSERT_EQ(taker.takes.size(), 1U);
    tick(t0 + 501 * ms, t0 + 600 * ms);
    EXPECT_EQ(probes.starts.size(), started);  // no probe after the bound
    hr->on_take_done(last_ticket(), taken({syn_from(40001)}), t0 + 601 * ms);
    ASSERT_EQ(finished.size(), 1U);
    EXPECT_EQ(finished[0].how, host_replay_result::kind::gave_up);
    EXPECT_EQ(finished[0].syns.size(), 1U);
    EXPECT_EQ(m.host_replay_syns_dropped, 1U);
    EXPECT_EQ(m.host_replays, 0U);
    EXPECT_FALSE(hr->probing(vm));
}

TEST_F(synjitsu_host_replay, a_give_up_whose_take_fails_abandons_the_vm) {
    limits.give_up_ns = 50 * ms;
    make();
    const std::uint16_t hints[] = {80};
    hr->start(vm, vm_mac, hints, t0);
    tick(t0, t0 + 50 * ms);
    ASSERT_EQ(taker.takes.size(), 1U);
    EXPECT_TRUE(probes.open.empty());  // cancelled at the give-up
    take_outcome failed;
    failed.error = "Xenstore unreachable";
    hr->on_take_done(last_ticket(), failed, t0 + 60 * ms);
    ASSERT_EQ(finished.size(), 1U);
    EXPECT_EQ(finished[0].how, host_replay_result::kind::abandoned);
    EXPECT_EQ(m.host_replay_take_errors, 1U);
    tick(t0 + 60 * ms, t0 + 200 * ms, 10 * ms);
    EXPECT_EQ(taker.takes.size(), 1U);  // bounded: no retry after the give-up
}

TEST_F(synjitsu_host_replay, entry_removed_mid_probe_cancels_everything) {
    const std::uint16_t hints[] = {80, 443};
    hr->start(vm, vm_mac, hints, t0);
    tick(t0, t0 + 45 * ms);
    ASSERT_GE(probes.open.size(), 8U);
    const auto open = probes.open;
    hr->cancel(vm, "booting entry removed");
    EXPECT_TRUE(probes.open.empty());
    for (const auto id : open) {
        EXPECT_NE(std::find(probes.cancels.begin(), probes.cancels.end(), id),
                  probes.cancels.end());
    }
    EXPECT_EQ(m.host_replay_cancelled, 1U);
    EXPECT_EQ(m.host_replay_vms, 0U);
    EXPECT_EQ(m.probes_in_flight, 0U);
    // A late outcome of a cancelled probe changes nothing.
    hr->on_probe_result(open.front(), probe_outcome::accepted, {}, t0 + 46 * ms);
    const std::size_t started = probes.starts.size();
    tick(t0 + 46 * ms, t0 + 3000 * ms, 5 * ms);
    EXPECT_EQ(probes.starts.size(), started);
    EXPECT_TRUE(taker.takes.empty());
    EXPECT_TRUE(finished.empty());
    EXPECT_EQ(table.exclusions(), 0U);
    hr->cancel(vm, "again");  // unknown now: nothing
    EXPECT_EQ(m.host_replay_cancelled, 1U);
}

TEST_F(synjitsu_host_replay, entry_removed_mid_take_still_delivers_what_was_taken) {
    const std::uint16_t hints[] = {80};
    hr->start(vm, vm_mac, hints, t0);
    probes.report(*hr, probes.starts[0].id, probe_outcome::accepted, t0 + 1 * ms);
    ASSERT_EQ(taker.takes.size(), 1U);
    hr->cancel(vm, "booting entry removed");
    EXPECT_FALSE(hr->probing(vm));
    // The take committed: its records are gone from Xenstore, only we have them.
    hr->on_take_done(last_ticket(), taken({syn_from(40001)}), t0 + 3 * ms);
    ASSERT_EQ(finished.size(), 1U);
    EXPECT_EQ(finished[0].how, host_replay_result::kind::replayed);
    EXPECT_EQ(finished[0].syns.size(), 1U);
}

TEST_F(synjitsu_host_replay, failed_take_is_retried_and_an_empty_take_is_fine) {
    const std::uint16_t hints[] = {80};
    hr->start(vm, vm_mac, hints, t0);
    probes.report(*hr, probes.starts[0].id, probe_outcome::accepted, t0 + 1 * ms);
    take_outcome failed;
    failed.error = "connection lost";
    hr->on_take_done(last_ticket(), failed, t0 + 2 * ms);
    EXPECT_EQ(m.host_replay_take_errors, 1U);
    EXPECT_TRUE(hr->probing(vm));
    EXPECT_FALSE(hr->taking(vm));
    EXPECT_TRUE(finished.empty());
    hr->on_tick(t0 + 5 * ms);
    EXPECT_EQ(taker.takes.size(), 1U);
    hr->on_tick(t0 + 12 * ms);
    ASSERT_EQ(taker.takes.size(), 2U);
    EXPECT_EQ(probes.starts.size(), 1U);  // the port accepted already: no new probe
    // Another taker emptied the queue first: nothing to send, still done.
    hr->on_take_done(last_ticket(), taken({}), t0 + 13 * ms);
    ASSERT_EQ(finished.size(), 1U);
    EXPECT_EQ(finished[0].how, host_replay_result::kind::replayed);
    EXPECT_TRUE(finished[0].syns.empty());
    // A stale ticket is ignored.
    hr->on_take_done(taker.takes[0].ticket, taken({syn_from(1)}), t0 + 14 * ms);
    EXPECT_EQ(finished.size(), 1U);
}

TEST_F(synjitsu_host_replay, ports_come_from_hints_and_from_queued_syns) {
    // No hints: nothing to probe until a SYN is queued.
    hr->start(vm, vm_mac, {}, t0);
    tick(t0, t0 + 100 * ms, 5 * ms);
    EXPECT_TRUE(probes.starts.empty());
    hr->add_port(vm, 80, t0 + 101 * ms);
    ASSERT_EQ(probes.starts.size(), 1U);
    EXPECT_EQ(probes.starts[0].port, 80);
    hr->add_port(vm, 80, t0 + 102 * ms);  // a retransmission: same port
    EXPECT_EQ(probes.starts.size(), 1U);
    probes.report(*hr, probes.starts[0].id, probe_outcome::accepted, t0 + 103 * ms);
    EXPECT_EQ(taker.takes.size(), 1U);  // port 80 is all that is needed

    // Hints and SYN ports together: every one must accept.
    const std::uint16_t hints[] = {80, 443};
    hr->start(vm2, vm_mac, hints, t0);
    EXPECT_EQ(probes.open_on(80).size(), 1U);
    EXPECT_EQ(probes.open_on(443).size(), 1U);
    probes.report(*hr, probes.open_on(80).front(), probe_outcome::accepted, t0 + 1 * ms);
    hr->add_port(vm2, 8080, t0 + 2 * ms);
    EXPECT_EQ(hr->ports(vm2), (std::vector<std::uint16_t>{80, 443, 8080}));
    probes.report(*hr, probes.open_on(443).front(), probe_outcome::accepted, t0 + 3 * ms);
    EXPECT_EQ(taker.takes.size(), 1U);  // 8080 has not accepted yet
    tick(t0 + 4 * ms, t0 + 12 * ms);
    EXPECT_TRUE(probes.open_on(80).empty());  // accepted ports are not probed again
    EXPECT_TRUE(probes.open_on(443).empty());
    ASSERT_FALSE(probes.open_on(8080).empty());
    probes.report(*hr, probes.open_on(8080).back(), probe_outcome::accepted, t0 + 13 * ms);
    ASSERT_EQ(taker.takes.size(), 2U);
    EXPECT_EQ(taker.takes[1].ip, vm2);
    // Hints added by a re-registration are probed too.
    hr->start(vm, vm_mac, {}, t0 + 20 * ms);
    const std::uint16_t more[] = {22};
    hr->add_hints(vm, more, t0 + 21 * ms);
    EXPECT_EQ(hr->ports(vm), (std::vector<std::uint16_t>{22}));
}

TEST_F(synjitsu_host_replay, sockets_ports_and_exclusions_are_bounded) {
    limits.max_in_flight = 3;
    limits.max_closed_exclusions = 5;
    make();
    const std::uint16_t hints[] = {1, 2, 3, 4, 5, 6, 7, 8};
    hr->start(vm, vm_mac, hints, t0);
    EXPECT_EQ(probes.open.size(), 3U);
    for (std::uint64_t t = t0; t <= t0 + 500 * ms; t += 1 * ms) {
        hr->on_tick(t);
        EXPECT_LE(probes.open.size(), 3U);
        // Every open probe refused at once: ports take turns.
        for (const auto id : std::vector<probe_id>(probes.open)) {
            probes.report(*hr, id, probe_outcome::refused, t);
        }
        EXPECT_LE(table.exclusions(), 5U + probes.open.size());
    }
    std::set<std::uint16_t> probed;
    for (const auto& s : probes.starts) probed.insert(s.port);
    EXPECT_EQ(probed.size(), 8U);  // none starved
    // A ninth port is not probed.
    hr->add_port(vm, 9, t0 + 501 * ms);
    EXPECT_EQ(hr->ports(vm).size(), 8U);
}

TEST_F(synjitsu_host_replay, probes_that_cannot_start_are_counted_and_retried) {
    probes.fail_start = true;
    const std::uint16_t hints[] = {80};
    hr->start(vm, vm_mac, hints, t0);
    tick(t0, t0 + 29 * ms);
    EXPECT_EQ(probes.refused_starts, 3);
    EXPECT_EQ(m.probes_failed, 3U);
    EXPECT_EQ(m.probes_sent, 3U);
    EXPECT_EQ(table.exclusions(), 0U);
    probes.fail_start = false;
    hr->on_tick(t0 + 30 * ms);
    ASSERT_EQ(probes.starts.size(), 1U);
    probes.report(*hr, probes.starts[0].id, probe_outcome::failed, t0 + 31 * ms);
    EXPECT_EQ(m.probes_failed, 4U);
    hr->on_tick(t0 + 40 * ms);
    EXPECT_EQ(probes.starts.size(), 2U);
    // The neighbour hint is repeated while probing.
    tick(t0 + 41 * ms, t0 + 1001 * ms, 10 * ms);
    EXPECT_EQ(probes.prepared.size(), 2U);
}

}  // namespace
}  // namespace jitsu::synjitsu
