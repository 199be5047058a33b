// The SYN record (field formats of docs/DESIGN.md) and the writer's dedup, limits, pruning
// and backpressure, against a memory store and a fake store.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/hex.h"
#include "common/packet/frame.h"
#include "fake_store.h"
#include "frames.h"
#include "synjitsu/memory_queue_store.h"
#include "synjitsu/syn_builder.h"
#include "synjitsu/syn_queue_writer.h"

namespace jitsu::synjitsu {
namespace {

using test::bytes;
constexpr std::uint64_t sec = 1'000'000'000ULL;

std::map<std::string, std::string> fields_of(const queued_syn& syn) {
    std::map<std::string, std::string> out;
    for (auto& [k, v] : encode_queued_syn(syn)) out[std::string(k)] = v;
    return out;
}

queued_syn record_for(const bytes& frame, std::uint64_t t = 1700000000123456789ULL) {
    const auto parsed = packet::parse_frame(frame);
    auto syn = build_queued_syn(*parsed, frame, t, offline_isn_key);
    EXPECT_TRUE(syn.has_value());
    return *syn;
}

TEST(synjitsu_record, fields_exactly_as_the_design_says) {
    const bytes frame = test::tcp_frame({.sport = 43210, .seq = 4000000000U, .window = 29200});
    const queued_syn syn = record_for(frame);
    const auto f = fields_of(syn);
    EXPECT_EQ(f.size(), 10U);
    EXPECT_EQ(f.at("tx_wnd"), "29200");
    EXPECT_EQ(f.at("sequence"), "4000000000");  // unsigned 32-bit decimal
    EXPECT_EQ(f.at("options"),
              "((MSS 1460) SACK_ok (Timestamp 123456 0) Noop (Window_size_shift 7))");
    EXPECT_EQ(f.at("tx_isn"), std::to_string(pick_isn(offline_isn_key, syn.tuple)));
    EXPECT_EQ(f.at("rx_wnd"), "65535");
    EXPECT_EQ(f.at("rx_wnd_scaleoffer"), "7");
    EXPECT_EQ(f.at("frame"), to_hex(frame));  // lowercase hex of the whole frame
    EXPECT_EQ(f.at("mac"), "02:00:00:00:01:01");
    EXPECT_EQ(f.at("time"), "1700000000123456789");
    EXPECT_EQ(f.at("count"), "1");
    EXPECT_EQ(syn_node(syn.tuple), "/ip/10-0-0-10/80/10-0-0-101/43210/syn");
    // What the guest's strict decoder reads back is what was written.
    std::vector<syn_field_view> views;
    const auto enc = encode_queued_syn(syn);
    for (const auto& [k, v] : enc) views.emplace_back(k, v);
    const auto back = decode_queued_syn(syn.tuple, views);
    ASSERT_TRUE(std::holds_alternative<queued_syn>(back));
    EXPECT_EQ(std::get<queued_syn>(back), syn);
}

TEST(synjitsu_record, options_sexp_for_each_kind) {
    using packet::tcp_option;
    struct row {
        std::vector<tcp_option> options;
        std::string sexp;
    };
    const std::vector<row> rows = {
        {{}, "()"},
        {{tcp_option::make_mss(536)}, "((MSS 536))"},
        {{tcp_option::make_sack_permitted()}, "(SACK_ok)"},
        {{tcp_option::make_timestamp(4294967295U, 7)}, "((Timestamp -1 7))"},
        {{tcp_option::make_window_scale(14)}, "((Window_size_shift 14))"},
        {{tcp_option::make_nop(), tcp_option::make_nop()}, "(Noop Noop)"},
        {{tcp_option::make_mss(1460), tcp_option::make_nop(), tcp_option::make_window_scale(7),
          tcp_option::make_nop(), tcp_option::make_nop(), tcp_option::make_timestamp(1, 0),
          tcp_option::make_sack_permitted()},
         "((MSS 1460) Noop (Window_size_shift 7) Noop Noop (Timestamp 1 0) SACK_ok)"},
    };
    for (const auto& r : rows) {
        const queued_syn syn = record_for(test::tcp_frame({.options = r.options}));
        EXPECT_EQ(syn.options, r.sexp);
    }
}

TEST(synjitsu_record, ipv6_paths_and_isn_stability) {
    const bytes frame = test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip});
    const queued_syn syn = record_for(frame);
    EXPECT_EQ(syn_node(syn.tuple),
              "/ip/fd00-0000-0000-0000-0000-0000-0000-0010/80/"
              "fd00-0000-0000-0000-0000-0000-0000-0002/40001/syn");
    // Same 4-tuple, same ISN; another port, another ISN; another key, another ISN.
    EXPECT_EQ(syn.tx_isn, record_for(frame, 5).tx_isn);
    EXPECT_NE(
        syn.tx_isn,
        record_for(test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip, .sport = 40002}))
            .tx_isn);
    EXPECT_NE(pick_isn(offline_isn_key, syn.tuple), pick_isn(isn_key{1, 2}, syn.tuple));
}

TEST(synjitsu_isn, siphash_reference_vectors) {
    // SipHash-2-4 paper, Appendix A: key 00..0f.
    const isn_key key = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    std::uint8_t msg[15];
    for (int i = 0; i < 15; ++i) msg[i] = static_cast<std::uint8_t>(i);
    EXPECT_EQ(siphash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
    EXPECT_EQ(siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
}

// A writer over a booting table with 10.0.0.10 and 10.0.0.11.
struct writer_fixture : ::testing::Test {
    booting_table table;
    metrics m;
    writer_limits limits;
    test::fake_store store;

    void SetUp() override {
        table.upsert(test::vm_ip, test::vm_mac, vm_source::command_line, 0);
        table.upsert(*ip_address::parse("10.0.0.11"), test::vm_mac, vm_source::command_line, 0);
    }
    syn_result send(syn_queue_writer& w, const test::syn_spec& s, std::uint64_t t = 0) {
        const bytes frame = test::tcp_frame(s);
        const auto parsed = packet::parse_frame(frame);
        return w.on_syn(*parsed, frame, t);
    }
};

TEST_F(writer_fixture, dedup_counts_retransmissions_in_one_record) {
    memory_queue_store mem;
    syn_queue_writer w(table, mem, m, limits, offline_isn_key);
    EXPECT_EQ(send(w, {}), syn_result::queued);
    EXPECT_EQ(send(w, {}, 1 * sec), syn_result::deduplicated);
    EXPECT_EQ(send(w, {}, 3 * sec), syn_result::deduplicated);
    ASSERT_EQ(mem.records().size(), 1U);
    const queued_syn& r = mem.records().begin()->second;
    EXPECT_EQ(r.count, 3U);
    EXPECT_EQ(r.time_ns, 0U);  // the first SYN's time
    EXPECT_EQ(m.syns_queued, 1U);
    EXPECT_EQ(m.syns_deduplicated, 2U);
    EXPECT_EQ(m.xenstore_records_written, 1U);
    EXPECT_EQ(m.xenstore_counts_updated, 2U);
    EXPECT_EQ(table.lookup(test::vm_ip)->queued, 1U);
}

TEST_F(writer_fixture, retransmissions_while_writing_are_folded_into_one_update) {
    syn_queue_writer w(table, store, m, limits, offline_isn_key);
    send(w, {});
    ASSERT_EQ(store.calls.size(), 1U);
    EXPECT_EQ(store.calls[0].delta, 1U);
    send(w, {});
    send(w, {});
    EXPECT_EQ(store.calls.size(), 1U);  // no second transaction on the same tuple
    store.complete(store_outcome::written);
    ASSERT_EQ(store.calls.size(), 1U);
    EXPECT_EQ(store.calls[0].delta, 2U);
    store.complete(store_outcome::updated);
    EXPECT_TRUE(w.idle());
}

TEST_F(writer_fixture, per_ip_limit_counts_four_tuples_not_syns) {
    limits.per_ip = 3;
    memory_queue_store mem;
    syn_queue_writer w(table, mem, m, limits, offline_isn_key);
    for (std::uint16_t p = 0; p < 5; ++p) send(w, {.sport = static_cast<std::uint16_t>(1000 + p)});
    EXPECT_EQ(mem.records().size(), 3U);
    EXPECT_EQ(m.syns_dropped_ip_limit, 2U);
    // A retransmission of a queued tuple still counts; the other VM has its own quota.
    EXPECT_EQ(send(w, {.sport = 1000}), syn_result::deduplicated);
    EXPECT_EQ(send(w, {.dst = *ip_address::parse("10.0.0.11")}), syn_result::queued);
    EXPECT_EQ(mem.records().size(), 4U);
}

// Fair share (issue 11, item 6): a flood from one source fills the queue first; a real
// client arriving during it is still queued, by evicting the flood's newest 4-tuple.
TEST_F(writer_fixture, fair_share_keeps_a_client_queued_during_a_one_source_flood) {
    limits.per_ip = 8;
    memory_queue_store mem;
    syn_queue_writer w(table, mem, m, limits, offline_isn_key);
    const ip_address flooder = *ip_address::parse("10.0.9.9");
    for (std::uint16_t p = 0; p < 50; ++p) {
        send(w, {.src = flooder, .sport = static_cast<std::uint16_t>(1000 + p)});
    }
    ASSERT_EQ(mem.records().size(), 8U);
    EXPECT_EQ(m.syns_dropped_ip_limit, 42U);
    EXPECT_EQ(send(w, {.sport = 40001}), syn_result::queued);  // the real client
    for (std::uint16_t p = 50; p < 100; ++p) {
        send(w, {.src = flooder, .sport = static_cast<std::uint16_t>(1000 + p)});
    }
    EXPECT_EQ(mem.records().size(), 8U);  // never over the limit
    EXPECT_EQ(mem.records().count({test::vm_ip, 80, test::client_ip, 40001}), 1U);
    EXPECT_EQ(m.syns_evicted, 1U);
    EXPECT_EQ(m.xenstore_records_removed, 1U);
    // The flood's newest queued 4-tuple made room; its oldest ones stay.
    EXPECT_EQ(mem.records().count({test::vm_ip, 80, flooder, 1007}), 0U);
    EXPECT_EQ(mem.records().count({test::vm_ip, 80, flooder, 1000}), 1U);
    EXPECT_EQ(table.lookup(test::vm_ip)->queued, 8U);
    // Further clients get in while the flood's share is at least two above theirs.
    for (std::uint8_t c = 1; c <= 3; ++c) {
        EXPECT_EQ(send(w, {.src = ipv4_address(10, 0, 0, static_cast<std::uint8_t>(110 + c))}),
                  syn_result::queued);
    }
    EXPECT_EQ(mem.records().size(), 8U);
    EXPECT_EQ(m.syns_evicted, 4U);
}

TEST_F(writer_fixture, fair_share_does_not_evict_among_equals_or_when_off) {
    limits.per_ip = 4;
    {
        memory_queue_store mem;
        syn_queue_writer w(table, mem, m, limits, offline_isn_key);
        // A spoofed flood from as many sources as the queue holds: every source has one
        // 4-tuple, nothing to even out, drop-new.
        for (std::uint8_t i = 0; i < 4; ++i) {
            send(w, {.src = ipv4_address(10, 0, 9, i), .sport = 1000});
        }
        EXPECT_EQ(send(w, {}), syn_result::dropped_ip_limit);
        EXPECT_EQ(m.syns_evicted, 0U);
    }
    // Off: drop-new even against one heavy source (the other VM, its own quota).
    metrics off_m;
    limits.fair_share = false;
    memory_queue_store mem;
    syn_queue_writer w(table, mem, off_m, limits, offline_isn_key);
    const ip_address other_vm = *ip_address::parse("10.0.0.11");
    for (std::uint16_t p = 0; p < 10; ++p) {
        send(w, {.src = *ip_address::parse("10.0.9.9"),
                 .dst = other_vm,
                 .sport = static_cast<std::uint16_t>(p + 1)});
    }
    EXPECT_EQ(send(w, {.dst = other_vm}), syn_result::dropped_ip_limit);
    EXPECT_EQ(off_m.syns_evicted, 0U);
    EXPECT_EQ(mem.records().size(), 4U);
}

TEST_F(writer_fixture, fair_share_never_evicts_a_tuple_whose_write_is_running) {
    limits.per_ip = 3;
    syn_queue_writer w(table, store, m, limits, offline_isn_key);
    const ip_address flooder = *ip_address::parse("10.0.9.9");
    for (std::uint16_t p = 0; p < 3; ++p) {
        send(w, {.src = flooder, .sport = static_cast<std::uint16_t>(1000 + p)});
    }
    ASSERT_EQ(store.calls.size(), 1U);           // 1000 is being written, 1001 and 1002 wait
    EXPECT_EQ(send(w, {}), syn_result::queued);  // evicts 1002 (waiting, never written)
    EXPECT_EQ(m.syns_evicted, 1U);
    store.complete_all(store_outcome::written);
    EXPECT_TRUE(w.idle());
    EXPECT_EQ(m.xenstore_records_written, 3U);  // 1000, 1001, the client: not 1002
    EXPECT_EQ(table.lookup(test::vm_ip)->queued, 3U);
}

TEST_F(writer_fixture, fair_share_counts_an_ipv6_client_by_its_slash_64) {
    limits.per_ip = 4;
    memory_queue_store mem;
    table.upsert(test::vm6_ip, test::vm_mac, vm_source::command_line, 0);
    syn_queue_writer w(table, mem, m, limits, offline_isn_key);
    // One host rotating addresses inside its /64 is one source.
    for (std::uint16_t i = 1; i <= 10; ++i) {
        const auto src = *ip_address::parse("fd00:0:0:9::" + std::to_string(i));
        send(w, {.src = src, .dst = test::vm6_ip, .sport = static_cast<std::uint16_t>(1000 + i)});
    }
    EXPECT_EQ(m.syns_evicted, 0U);
    EXPECT_EQ(send(w, {.src = test::client6_ip, .dst = test::vm6_ip}), syn_result::queued);
    EXPECT_EQ(m.syns_evicted, 1U);
}

TEST_F(writer_fixture, global_limit_spans_vms) {
    limits.global = 2;
    memory_queue_store mem;
    syn_queue_writer w(table, mem, m, limits, offline_isn_key);
    EXPECT_EQ(send(w, {.sport = 1}), syn_result::queued);
    EXPECT_EQ(send(w, {.dst = *ip_address::parse("10.0.0.11"), .sport = 2}), syn_result::queued);
    EXPECT_EQ(send(w, {.sport = 3}), syn_result::dropped_global_limit);
    EXPECT_EQ(m.syns_dropped_global_limit, 1U);
    EXPECT_EQ(w.tuples(), 2U);
}

TEST_F(writer_fixture, slow_store_drops_new_tuples_instead_of_growing) {
    limits.pending = 4;
    limits.in_flight = 2;
    syn_queue_writer w(table, store, m, limits, offline_isn_key);
    int queued = 0;
    for (std::uint16_t p = 0; p < 20; ++p) {
        if (send(w, {.sport = static_cast<std::uint16_t>(2000 + p)}) == syn_result::queued) {
            ++queued;
        }
    }
    EXPECT_EQ(store.calls.size(), 2U);  // in flight
    EXPECT_EQ(queued, 6);               // 2 in flight + 4 waiting
    EXPECT_EQ(m.syns_dropped_backlog, 14U);
    EXPECT_EQ(w.pending(), 6U);
    store.complete_all(store_outcome::written);
    EXPECT_TRUE(w.idle());
    EXPECT_EQ(m.xenstore_records_written, 6U);
}

TEST_F(writer_fixture, failed_first_write_forgets_the_tuple) {
    syn_queue_writer w(table, store, m, limits, offline_isn_key);
    send(w, {});
    store.complete(store_outcome::failed);
    EXPECT_EQ(m.xenstore_errors, 1U);
    EXPECT_EQ(w.tuples(), 0U);
    EXPECT_EQ(table.lookup(test::vm_ip)->queued, 0U);
    EXPECT_EQ(send(w, {}), syn_result::queued);  // a retransmission tries again
}

TEST_F(writer_fixture, pruning_forgets_old_tuples_and_removes_their_records) {
    limits.max_age_ns = 10 * sec;
    memory_queue_store mem;
    syn_queue_writer w(table, mem, m, limits, offline_isn_key);
    send(w, {.sport = 1}, 0);
    send(w, {.sport = 2}, 5 * sec);
    send(w, {.sport = 1}, 8 * sec);  // refreshes tuple 1
    w.prune(14 * sec);               // nothing older than 10 s since its last SYN
    EXPECT_EQ(mem.records().size(), 2U);
    w.prune(16 * sec);  // tuple 2: last SYN at 5 s
    EXPECT_EQ(mem.records().size(), 1U);
    EXPECT_EQ(mem.records().begin()->first.remote_port, 1);
    EXPECT_EQ(m.syns_pruned, 1U);
    EXPECT_EQ(m.xenstore_records_removed, 1U);
    EXPECT_EQ(table.lookup(test::vm_ip)->queued, 1U);
    w.prune(100 * sec);
    EXPECT_EQ(mem.records().size(), 0U);
    EXPECT_EQ(w.tuples(), 0U);
}

TEST_F(writer_fixture, prune_leaves_records_of_a_managed_vm) {
    limits.max_age_ns = 10 * sec;
    memory_queue_store mem;
    syn_queue_writer w(table, mem, m, limits, offline_isn_key);
    send(w, {}, 0);
    mem.set_managed(test::vm_ip);
    w.prune(20 * sec);
    EXPECT_EQ(mem.records().size(), 1U);  // the VM owns them now
    EXPECT_EQ(m.xenstore_records_removed, 0U);
}

TEST_F(writer_fixture, managed_store_writes_nothing_and_reports) {
    memory_queue_store mem;
    mem.set_managed(test::vm_ip);
    syn_queue_writer w(table, mem, m, limits, offline_isn_key);
    std::vector<ip_address> managed;
    w.on_managed([&](const ip_address& ip) {
        managed.push_back(ip);
        w.forget_ip(ip);
    });
    send(w, {});
    EXPECT_TRUE(mem.records().empty());
    ASSERT_EQ(managed.size(), 1U);
    EXPECT_EQ(managed[0], test::vm_ip);
    EXPECT_EQ(m.syns_dropped_managed, 1U);
    EXPECT_EQ(w.tuples(), 0U);
}

TEST_F(writer_fixture, waiting_writes_of_an_inactive_vm_are_dropped) {
    limits.in_flight = 1;
    syn_queue_writer w(table, store, m, limits, offline_isn_key);
    send(w, {.sport = 1});
    send(w, {.sport = 2});  // waits behind the first
    table.set_state(test::vm_ip, vm_state::up);
    store.complete(store_outcome::written);
    EXPECT_TRUE(store.calls.empty());
    EXPECT_EQ(m.syns_dropped_inactive, 1U);
}

}  // namespace
}  // namespace jitsu::synjitsu
