// Host replay inside the engine (fake store, prober and taker): the taken SYNs sent to the
// VM's MAC with valid checksums, the probe's own SYN never queued, the VM's own ARP not
// ending the replay, and the take-over races: someone else takes first; a SYN whose write
// commits during the take (after it: handed over; before it: in the take, sent once); a
// give-up hands nothing over.
#include <gtest/gtest.h>

#include "common/packet/frame.h"
#include "fake_store.h"
#include "frames.h"
#include "host_replay_fakes.h"
#include "synjitsu/engine.h"

namespace jitsu::synjitsu {
namespace {

using test::bytes;
constexpr std::uint64_t ms = 1'000'000ULL;
constexpr std::uint64_t t0 = 1'000'000 * ms;

class tcp_sink final : public frame_sink {
  public:
    bool send(std::span<const std::uint8_t> f, std::uint64_t) override {
        const bytes frame(f.begin(), f.end());
        if (const auto p = packet::parse_frame(frame); p && p->tcp) tcp.push_back(frame);
        return true;
    }
    // Source ports of the SYNs sent, checking each is a valid SYN to the VM's MAC.
    std::vector<std::uint16_t> sent_ports() const {
        std::vector<std::uint16_t> out;
        for (const auto& frame : tcp) {
            const auto f = packet::parse_frame(frame);
            EXPECT_EQ(f->ethernet.dst(), test::vm_mac);
            EXPECT_TRUE(f->tcp->is_syn_only());
            EXPECT_TRUE(f->tcp->checksum_valid(*f->src_ip(), *f->dst_ip()));
            if (f->ipv4) {
                EXPECT_TRUE(f->ipv4->header_checksum_valid());
            }
            out.push_back(f->tcp->src_port());
        }
        return out;
    }
    std::vector<bytes> tcp;
};

struct synjitsu_host_replay_engine : ::testing::Test {
    tcp_sink sink;
    test::fake_store store;
    metrics m;
    engine eng{sink, store, m, writer_limits{}, offline_isn_key};
    test::fake_prober probes;
    test::fake_taker taker;
    host_replay_limits limits = [] {
        host_replay_limits l;
        l.interval_ns = 10 * ms;
        l.give_up_ns = 1000 * ms;
        return l;
    }();

    void SetUp() override { eng.enable_host_replay(probes, taker, limits); }

    booting_value host_value(std::vector<std::uint16_t> ports = {}) const {
        return booting_value{test::vm_mac, replay_mode::host, std::move(ports)};
    }
    // A client SYN from port `sport` (to port 80), as captured on the bridge.
    void client_syn(std::uint16_t sport, std::uint64_t t) {
        eng.on_frame(test::tcp_frame({.sport = sport, .dst_mac = test::vm_mac}), t);
    }
    // Completes the oldest store call as written; returns its record.
    queued_syn written() {
        EXPECT_FALSE(store.calls.empty());
        if (store.calls.empty()) return {};
        const queued_syn syn = store.calls.front().syn;
        store.complete(store_outcome::written);
        return syn;
    }
    void accept_all(std::uint64_t t) {
        for (const auto id : std::vector<probe_id>(probes.open)) {
            probes.report(*eng.replay(), id, probe_outcome::accepted, t);
        }
    }
    void take_done(std::vector<queued_syn> syns, std::uint64_t t) {
        take_outcome o;
        o.ok = true;
        o.syns = std::move(syns);
        eng.replay()->on_take_done(taker.takes.back().ticket, std::move(o), t);
    }
};

TEST_F(synjitsu_host_replay_engine, queued_syn_is_replayed_to_the_vm_once_its_port_accepts) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value(), vm_source::xenstore, t0));
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->replay, replay_mode::host);
    EXPECT_TRUE(probes.starts.empty());  // no hint, no SYN: nothing to probe yet
    client_syn(40001, t0 + 1 * ms);
    ASSERT_EQ(store.calls.size(), 1U);
    const queued_syn first = written();
    ASSERT_EQ(probes.starts.size(), 1U);  // its port is probed at once
    EXPECT_EQ(probes.starts[0].port, 80);
    probes.report(*eng.replay(), probes.starts[0].id, probe_outcome::refused, t0 + 2 * ms);
    eng.replay()->on_tick(t0 + 11 * ms);
    accept_all(t0 + 12 * ms);
    ASSERT_EQ(taker.takes.size(), 1U);
    EXPECT_TRUE(sink.tcp.empty());
    take_done({first}, t0 + 14 * ms);
    EXPECT_EQ(sink.sent_ports(), (std::vector<std::uint16_t>{40001}));
    EXPECT_EQ(m.host_replay_syns_injected, 1U);
    EXPECT_EQ(m.host_replays, 1U);
    EXPECT_EQ(m.vms_managed, 1U);
    // Managed now: no ARP answered, no SYN queued, nothing handed over.
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->state, vm_state::managed);
    EXPECT_EQ(eng.on_frame(test::arp_request(test::client_mac, test::client_ip, test::vm_ip),
                           t0 + 15 * ms),
              verdict::ignore);
    client_syn(40009, t0 + 16 * ms);
    EXPECT_TRUE(store.calls.empty());
    EXPECT_EQ(m.syns_handed_over, 0U);
}

TEST_F(synjitsu_host_replay_engine, the_probe_own_syn_is_never_queued) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value({80}), vm_source::xenstore, t0));
    ASSERT_EQ(probes.starts.size(), 1U);
    const four_tuple probe = probes.starts[0].tuple;
    EXPECT_EQ(eng.on_frame(test::tcp_frame({.src = probe.remote_ip,
                                            .sport = probe.remote_port,
                                            .dport = probe.local_port,
                                            .dst_mac = test::vm_mac}),
                           t0 + 1 * ms),
              verdict::ignore);
    EXPECT_EQ(m.ignored_own_probes, 1U);
    EXPECT_TRUE(store.calls.empty());
    // The same client port from another address is a client.
    EXPECT_EQ(eng.on_frame(test::tcp_frame({.sport = probe.remote_port, .dst_mac = test::vm_mac}),
                           t0 + 2 * ms),
              verdict::syn);
    EXPECT_EQ(store.calls.size(), 1U);
}

TEST_F(synjitsu_host_replay_engine, the_vm_announcing_itself_does_not_end_the_replay) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value({80}), vm_source::xenstore, t0));
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(eng.on_frame(test::gratuitous_arp(test::vm_mac, test::vm_ip), t0 + 1 * ms),
                  verdict::vm_announce);
    }
    EXPECT_EQ(m.vms_announced_up, 1U);  // counted (and logged) once
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->state, vm_state::booting);
    EXPECT_TRUE(eng.replay()->probing(test::vm_ip));
}

TEST_F(synjitsu_host_replay_engine, another_taker_first_cancels_the_probing) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value({80}), vm_source::xenstore, t0));
    client_syn(40001, t0 + 1 * ms);
    store.complete(store_outcome::written);
    ASSERT_FALSE(probes.open.empty());
    eng.mark_managed(test::vm_ip);  // the /ip watch: someone else took the queue
    EXPECT_FALSE(eng.replay()->probing(test::vm_ip));
    EXPECT_TRUE(probes.open.empty());
    EXPECT_EQ(m.host_replay_cancelled, 1U);
    eng.replay()->on_tick(t0 + 500 * ms);
    EXPECT_TRUE(taker.takes.empty());
    EXPECT_TRUE(sink.tcp.empty());
}

TEST_F(synjitsu_host_replay_engine, syn_committed_after_the_take_is_handed_over_once) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value(), vm_source::xenstore, t0));
    client_syn(40001, t0 + 1 * ms);
    const queued_syn first = written();
    accept_all(t0 + 2 * ms);
    ASSERT_EQ(taker.takes.size(), 1U);
    client_syn(40002, t0 + 3 * ms);  // its write is running while we take
    ASSERT_EQ(store.calls.size(), 1U);
    take_done({first}, t0 + 4 * ms);  // the take committed first: only 40001
    // 40002 is not in the take and not stored: handed to the VM now.
    EXPECT_EQ(sink.sent_ports(), (std::vector<std::uint16_t>{40001, 40002}));
    store.complete(store_outcome::managed);  // its write then finds managed
    EXPECT_EQ(sink.tcp.size(), 2U);
    EXPECT_EQ(m.syns_handed_over, 1U);
    EXPECT_EQ(m.host_replay_syns_injected, 1U);
}

TEST_F(synjitsu_host_replay_engine, syn_committed_before_the_take_is_sent_once) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value(), vm_source::xenstore, t0));
    client_syn(40001, t0 + 1 * ms);
    const queued_syn first = written();
    accept_all(t0 + 2 * ms);
    client_syn(40002, t0 + 3 * ms);
    ASSERT_EQ(store.calls.size(), 1U);
    const queued_syn late = store.calls.front().syn;
    // Its write committed just before the take (so the take has it), but its completion
    // has not run yet when the take's does.
    take_done({first, late}, t0 + 4 * ms);
    store.complete(store_outcome::written);
    EXPECT_EQ(sink.sent_ports(), (std::vector<std::uint16_t>{40001, 40002}));
    EXPECT_EQ(m.syns_handed_over, 0U);
    EXPECT_EQ(m.host_replay_syns_injected, 2U);
}

TEST_F(synjitsu_host_replay_engine, our_own_managed_seen_first_does_not_cancel_the_take) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value(), vm_source::xenstore, t0));
    client_syn(40001, t0 + 1 * ms);
    const queued_syn first = written();
    accept_all(t0 + 2 * ms);
    eng.mark_managed(test::vm_ip);  // the /ip watch reports our take's commit first
    EXPECT_EQ(m.host_replay_cancelled, 0U);
    take_done({first}, t0 + 4 * ms);
    EXPECT_EQ(sink.sent_ports(), (std::vector<std::uint16_t>{40001}));
    EXPECT_EQ(m.vms_managed, 1U);
}

TEST_F(synjitsu_host_replay_engine, give_up_drops_the_queue_and_hands_nothing_over) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value({80}), vm_source::xenstore, t0));
    client_syn(40001, t0 + 1 * ms);
    const queued_syn first = written();
    client_syn(40002, t0 + 2 * ms);  // write still running at the give-up
    for (std::uint64_t t = t0; t <= t0 + 1000 * ms; t += 10 * ms) {
        eng.replay()->on_tick(t);
        for (const auto id : std::vector<probe_id>(probes.open)) {
            probes.report(*eng.replay(), id, probe_outcome::refused, t);
        }
    }
    EXPECT_EQ(m.host_replay_give_ups, 1U);
    ASSERT_EQ(taker.takes.size(), 1U);
    take_done({first}, t0 + 1001 * ms);
    store.complete(store_outcome::managed);
    EXPECT_TRUE(sink.tcp.empty());  // the VM does not listen: clients retransmit
    EXPECT_EQ(m.host_replay_syns_dropped, 1U);
    EXPECT_EQ(m.syns_handed_over, 0U);
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->state, vm_state::managed);
}

TEST_F(synjitsu_host_replay_engine, replay_mode_follows_the_booting_value) {
    ASSERT_TRUE(eng.add_vm(test::vm_ip, booting_value{test::vm_mac}, vm_source::xenstore, t0));
    EXPECT_FALSE(eng.replay()->probing(test::vm_ip));
    client_syn(40001, t0 + 1 * ms);
    store.complete(store_outcome::written);
    EXPECT_TRUE(probes.starts.empty());  // replay=guest: the VM takes its own queue
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value({443}), vm_source::xenstore, t0 + 2 * ms));
    EXPECT_TRUE(eng.replay()->probing(test::vm_ip));
    EXPECT_EQ(eng.replay()->ports(test::vm_ip), (std::vector<std::uint16_t>{443}));
    // Rescanned with one more hint.
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value({443, 8443}), vm_source::xenstore, t0 + 3 * ms));
    EXPECT_EQ(eng.replay()->ports(test::vm_ip), (std::vector<std::uint16_t>{443, 8443}));
    ASSERT_TRUE(
        eng.add_vm(test::vm_ip, booting_value{test::vm_mac}, vm_source::xenstore, t0 + 4 * ms));
    EXPECT_FALSE(eng.replay()->probing(test::vm_ip));
    EXPECT_TRUE(probes.open.empty());
    // Host again, then the booting entry goes away.
    ASSERT_TRUE(eng.add_vm(test::vm_ip, host_value({80}), vm_source::xenstore, t0 + 5 * ms));
    eng.remove_vm(test::vm_ip);
    EXPECT_FALSE(eng.replay()->probing(test::vm_ip));
    EXPECT_TRUE(probes.open.empty());
}

TEST(synjitsu_host_replay_offline, replay_host_without_host_replay_serves_as_guest) {
    tcp_sink sink;
    test::fake_store store;
    metrics m;
    engine eng{sink, store, m, writer_limits{}, offline_isn_key};
    ASSERT_TRUE(eng.add_vm(test::vm_ip, booting_value{test::vm_mac, replay_mode::host, {80}},
                           vm_source::xenstore, t0));
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->replay, replay_mode::guest);
    EXPECT_EQ(eng.replay(), nullptr);
}

}  // namespace
}  // namespace jitsu::synjitsu
