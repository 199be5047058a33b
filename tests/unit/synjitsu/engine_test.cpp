// The engine end to end over frames: announcements on schedule, ARP/NA replies (exact
// bytes), SYNs queued, and nothing once the VM is managed or up. Plus the responder's
// frames parsed back, and the command line.
#include "synjitsu/engine.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/packet/frame.h"
#include "frames.h"
#include "synjitsu/announcer.h"
#include "synjitsu/config.h"
#include "synjitsu/memory_queue_store.h"

namespace jitsu::synjitsu {
namespace {

using test::bytes;
constexpr std::uint64_t ms = 1'000'000ULL;

struct recorded {
    bytes frame;
    std::uint64_t time;
};

class vector_sink final : public frame_sink {
  public:
    bool send(std::span<const std::uint8_t> f, std::uint64_t t) override {
        sent.push_back({bytes(f.begin(), f.end()), t});
        return true;
    }
    std::vector<recorded> sent;
};

struct engine_fixture : ::testing::Test {
    vector_sink sink;
    memory_queue_store store;
    metrics m;
    engine eng{sink, store, m, writer_limits{}, offline_isn_key};
};

TEST_F(engine_fixture, announces_on_the_documented_schedule) {
    const std::uint64_t t0 = 1000 * ms;
    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::command_line, t0);
    for (std::uint64_t t = t0; t <= t0 + 2000 * ms; t += 10 * ms) eng.on_tick(t);
    ASSERT_EQ(sink.sent.size(), announce_schedule_ms.size());
    for (std::size_t i = 0; i < sink.sent.size(); ++i) {
        EXPECT_EQ(sink.sent[i].time, t0 + announce_schedule_ms[i] * ms);
        const auto f = packet::parse_frame(sink.sent[i].frame);
        ASSERT_TRUE(f && f->arp);
        EXPECT_TRUE(f->arp->is_gratuitous());
        EXPECT_EQ(f->arp->sender_mac(), test::vm_mac);
        EXPECT_EQ(f->ethernet.dst(), mac_address::broadcast());
        EXPECT_EQ(sink.sent[i].frame.size(), 60U);  // padded to the Ethernet minimum
    }
    EXPECT_EQ(m.announcements_sent, 5U);
}

TEST_F(engine_fixture, answers_arp_with_the_exact_reply) {
    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::command_line, 0);
    eng.flush_announcements();
    sink.sent.clear();
    EXPECT_EQ(eng.on_frame(test::arp_request(test::client_mac, test::client_ip, test::vm_ip), 7),
              verdict::arp_request);
    ASSERT_EQ(sink.sent.size(), 1U);
    bytes expected =
        test::arp_reply_frame(test::vm_mac, test::vm_ip, test::client_mac, test::client_ip);
    expected.resize(60, 0);
    EXPECT_EQ(sink.sent[0].frame, expected);
    EXPECT_EQ(sink.sent[0].time, 7U);
}

TEST_F(engine_fixture, answers_ns_with_a_solicited_na) {
    eng.add_vm(test::vm6_ip, test::vm_mac, vm_source::command_line, 0);
    eng.flush_announcements();
    sink.sent.clear();
    eng.on_frame(test::neighbor_solicitation(test::client_mac, test::client6_ip, test::vm6_ip), 1);
    ASSERT_EQ(sink.sent.size(), 1U);
    const auto f = packet::parse_frame(sink.sent[0].frame);
    ASSERT_TRUE(f && f->ndp && f->ipv6);
    EXPECT_TRUE(f->ndp->is_advertisement());
    EXPECT_TRUE(f->ndp->solicited_flag());
    EXPECT_TRUE(f->ndp->override_flag());
    EXPECT_EQ(f->ndp->target(), test::vm6_ip.v6());
    EXPECT_EQ(f->ndp->target_link_layer(), test::vm_mac);
    EXPECT_EQ(f->ipv6->hop_limit(), 255);
    EXPECT_EQ(f->ipv6->dst(), test::client6_ip.v6());
    EXPECT_EQ(f->ethernet.dst(), test::client_mac);
    EXPECT_TRUE(f->icmpv6->checksum_valid(f->ipv6->src(), f->ipv6->dst()));
}

TEST_F(engine_fixture, managed_vm_gets_nothing_more) {
    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::command_line, 0);
    eng.on_frame(test::tcp_frame({}), 1);
    eng.mark_managed(test::vm_ip);
    sink.sent.clear();
    eng.on_tick(10'000 * ms);  // no announcements left for it
    EXPECT_EQ(eng.on_frame(test::arp_request(test::client_mac, test::client_ip, test::vm_ip), 2),
              verdict::ignore);
    EXPECT_EQ(eng.on_frame(test::tcp_frame({.sport = 5}), 3), verdict::ignore);
    EXPECT_TRUE(sink.sent.empty());
    EXPECT_EQ(store.records().size(), 1U);  // the first SYN stays for the VM
    EXPECT_EQ(m.vms_managed, 1U);
    EXPECT_EQ(m.ignored_inactive, 2U);
}

TEST_F(engine_fixture, vm_own_garp_stops_service_and_re_registration_restarts_it) {
    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::xenstore, 0);
    EXPECT_EQ(eng.on_frame(test::gratuitous_arp(test::vm_mac, test::vm_ip), 1),
              verdict::vm_announce);
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->state, vm_state::up);
    // Same MAC again (a rescan of Xenstore): stays up.
    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::xenstore, 2);
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->state, vm_state::up);
    // Removed then booted again: served again.
    eng.remove_vm(test::vm_ip);
    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::xenstore, 3);
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->state, vm_state::booting);
}

// jitsu-dns answers once /synjitsu/booting/<ip> is committed; the watch telling synjitsu
// can arrive after the client's first SYN. Such a SYN is kept and queued on registration.
TEST_F(engine_fixture, syn_just_before_registration_is_queued_when_the_ip_is_registered) {
    const std::uint64_t t0 = 5000 * ms;
    const ip_address other = ip_address(ipv4_address(10, 0, 0, 99));
    EXPECT_EQ(eng.on_frame(test::tcp_frame({.sport = 1111}), t0 - 300 * ms),
              verdict::ignore);  // too old
    EXPECT_EQ(eng.on_frame(test::tcp_frame({.sport = 2222}), t0 - 3 * ms), verdict::ignore);
    EXPECT_EQ(eng.on_frame(test::tcp_frame({.dst = other, .sport = 3333}), t0 - 2 * ms),
              verdict::ignore);
    EXPECT_TRUE(store.records().empty());
    EXPECT_EQ(m.ignored_not_booting, 3U);

    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::xenstore, t0);
    ASSERT_EQ(store.records().size(), 1U);  // only the recent SYN to this IP
    EXPECT_EQ(store.records().begin()->first.remote_port, 2222);
    EXPECT_EQ(m.syns_recovered, 1U);
    EXPECT_EQ(m.syns_queued, 1U);

    // Taken once: registering again (same MAC) or another IP later queues nothing more.
    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::xenstore, t0 + 1 * ms);
    eng.add_vm(other, test::vm_mac, vm_source::xenstore, t0 + 400 * ms);  // its SYN is too old
    EXPECT_EQ(store.records().size(), 1U);
    EXPECT_EQ(m.syns_recovered, 1U);
}

// The VM took its queue (managed) before synjitsu's write of a SYN landed: the SYN is not
// stored, so synjitsu hands it to the VM itself, addressed to its MAC, checksums valid.
TEST_F(engine_fixture, syn_the_vm_missed_is_handed_over_when_it_took_over_first) {
    eng.add_vm(test::vm_ip, test::vm_mac, vm_source::xenstore, 0);
    store.set_managed(test::vm_ip);
    const auto syn = test::tcp_frame({.sport = 4444, .dst_mac = test::vm_mac});
    eng.on_frame(syn, 7 * ms);
    EXPECT_TRUE(store.records().empty());
    EXPECT_EQ(m.syns_dropped_managed, 1U);
    ASSERT_EQ(m.syns_handed_over, 1U);
    ASSERT_EQ(sink.sent.size(), 1U);
    const auto f = packet::parse_frame(sink.sent[0].frame);
    ASSERT_TRUE(f && f->tcp);
    EXPECT_EQ(f->ethernet.dst(), test::vm_mac);
    EXPECT_TRUE(f->tcp->is_syn_only());
    EXPECT_EQ(f->tcp->src_port(), 4444);
    EXPECT_TRUE(f->tcp->checksum_valid(*f->src_ip(), *f->dst_ip()));
    // Once managed, later SYNs go to the VM on their own: nothing more is sent.
    eng.on_frame(test::tcp_frame({.sport = 5555}), 8 * ms);
    EXPECT_EQ(sink.sent.size(), 1U);
}

// The keep-ring is bounded: a flood for unserved IPs overwrites the oldest slots.
TEST(synjitsu_recent_syns, bounded_and_oldest_first) {
    recent_syns ring(4);
    const ip_address a = ip_address(ipv4_address(10, 0, 0, 1));
    const std::vector<std::uint8_t> frame(60, 0xab);
    for (std::uint64_t t = 1; t <= 10; ++t) EXPECT_TRUE(ring.remember(a, frame, t));
    EXPECT_FALSE(ring.remember(a, std::vector<std::uint8_t>(recent_syns::max_frame + 1), 11));
    std::vector<std::uint64_t> times;
    EXPECT_EQ(ring.take(a, 20, [&](auto, std::uint64_t t) { times.push_back(t); }), 4U);
    EXPECT_EQ(times, (std::vector<std::uint64_t>{7, 8, 9, 10}));
    EXPECT_EQ(ring.take(a, 20, [&](auto, std::uint64_t) {}), 0U);
}

TEST_F(engine_fixture, never_answers_for_unknown_ips) {
    for (int i = 0; i < 100; ++i) {
        eng.on_frame(
            test::arp_request(test::client_mac, test::client_ip,
                              ip_address(ipv4_address(10, 0, 1, static_cast<std::uint8_t>(i)))),
            static_cast<std::uint64_t>(i));
    }
    eng.on_tick(10'000 * ms);
    EXPECT_TRUE(sink.sent.empty());
    EXPECT_EQ(m.ignored_not_booting, 100U);
}

TEST_F(engine_fixture, table_capacity_is_enforced) {
    vector_sink s;
    memory_queue_store st;
    metrics mm;
    engine small{s, st, mm, writer_limits{}, offline_isn_key, 2};
    EXPECT_TRUE(small.add_vm(*ip_address::parse("10.0.0.1"), test::vm_mac, vm_source::xenstore, 0));
    EXPECT_TRUE(small.add_vm(*ip_address::parse("10.0.0.2"), test::vm_mac, vm_source::xenstore, 0));
    EXPECT_FALSE(
        small.add_vm(*ip_address::parse("10.0.0.3"), test::vm_mac, vm_source::xenstore, 0));
    EXPECT_EQ(mm.table_full, 1U);
}

TEST(synjitsu_config, booting_specs) {
    const auto b = parse_booting("10.0.0.10=02:00:00:00:00:10");
    EXPECT_EQ(b.ip, test::vm_ip);
    EXPECT_EQ(b.mac, test::vm_mac);
    EXPECT_EQ(parse_booting("fd00::10=02:00:00:00:00:10").ip, test::vm6_ip);
    for (const char* bad :
         {"10.0.0.10", "10.0.0.10=", "=02:00:00:00:00:10", "10.0.0=02:00:00:00:00:10",
          "10.0.0.10=ff:ff:ff:ff:ff:ff", "10.0.0.10=00:00:00:00:00:00", "10.0.0.10=02:00:00:00:00",
          "010.0.0.10=02:00:00:00:00:10"}) {
        EXPECT_THROW(parse_booting(bad), std::invalid_argument) << bad;
    }
}

TEST(synjitsu_config, command_line) {
    const char* ok[] = {
        "synjitsu",      "--pcap-in", "x.pcap",    "--booting", "10.0.0.10=02:00:00:00:00:10",
        "--queue-limit", "8",         "--max-age", "2.5",       "--dump-queue"};
    auto r = parse_command_line(10, ok);
    ASSERT_TRUE(r.cfg) << r.message;
    EXPECT_TRUE(r.cfg->offline());
    EXPECT_EQ(r.cfg->limits.per_ip, 8U);
    EXPECT_EQ(r.cfg->limits.max_age_ns, 2'500'000'000ULL);
    EXPECT_EQ(r.cfg->booting.size(), 1U);

    const char* none[] = {"synjitsu"};
    EXPECT_EQ(parse_command_line(1, none).exit_code, exit_usage);
    const char* both[] = {"synjitsu", "--interface", "br0", "--pcap-in", "x"};
    EXPECT_EQ(parse_command_line(5, both).exit_code, exit_usage);
    const char* bad[] = {"synjitsu", "--interface", "br0", "--booting", "nope"};
    auto rb = parse_command_line(5, bad);
    EXPECT_EQ(rb.exit_code, exit_usage);
    EXPECT_NE(rb.message.find("nope"), std::string::npos);
    const char* zero[] = {"synjitsu", "--interface", "br0", "--queue-limit", "0"};
    EXPECT_EQ(parse_command_line(5, zero).exit_code, exit_usage);
    const char* help[] = {"synjitsu", "--help"};
    auto rh = parse_command_line(2, help);
    EXPECT_EQ(rh.exit_code, exit_ok);
    EXPECT_NE(rh.message.find("--booting"), std::string::npos);
}

TEST(synjitsu_metrics, prometheus_text) {
    metrics m;
    m.syns_queued = 3;
    m.booting_vms = 1;
    const std::string text = format_metrics_prometheus(m);
    EXPECT_NE(
        text.find("# TYPE synjitsu_syns_queued_total counter\nsynjitsu_syns_queued_total 3\n"),
        std::string::npos);
    EXPECT_NE(text.find("# TYPE synjitsu_booting_vms gauge\nsynjitsu_booting_vms 1\n"),
              std::string::npos);
}

}  // namespace
}  // namespace jitsu::synjitsu
