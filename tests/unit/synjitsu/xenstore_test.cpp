// The Xenstore side against a real jitsu-xenstored (spawned on a private socket): the
// record as written, count updates, the take-over protocol (managed -> nothing written,
// and a guest taking the queue while SYNs keep arriving loses or doubles nothing), and
// the booting watch.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "common/packet/frame.h"
#include "frames.h"
#include "host_replay_fakes.h"
#include "synjitsu/engine.h"
#include "synjitsu/syn_builder.h"
#include "synjitsu/xenstore_queue_store.h"
#include "synjitsu/xenstore_state.h"
#include "synjitsu/xenstore_taker.h"
#include "xenstore/blocking_client.h"
#include "xenstored_process.h"

extern char** environ;

namespace jitsu::synjitsu {
namespace {

using test::bytes;
using namespace std::chrono_literals;

// jitsu-xenstored on a private socket, stopped at the end (tests/support).
class xenstored_process : public ::jitsu::test::xenstored_process {
  public:
    xenstored_process()
        : ::jitsu::test::xenstored_process(::jitsu::test::temp_socket_path("synjitsu")) {}
    bool ok() const { return running(); }
    xenstore::client_options options() const {
        xenstore::client_options o;
        o.socket_path = socket_path();
        o.reconnect = false;
        return o;
    }
};

class null_frames final : public frame_sink {
  public:
    bool send(std::span<const std::uint8_t>, std::uint64_t) override { return true; }
};

struct xenstore_fixture : ::testing::Test {
    xenstored_process daemon;
    boost::asio::io_context io;
    std::unique_ptr<xenstore::client> client;
    std::unique_ptr<xenstore::blocking_client> inspect;

    void SetUp() override {
        ASSERT_TRUE(daemon.ok()) << "jitsu-xenstored did not start";
        client = std::make_unique<xenstore::client>(io.get_executor(), daemon.options());
        bool done = false;
        std::error_code ec;
        boost::asio::co_spawn(
            io,
            [&]() -> xenstore::asio::awaitable<void> {
                auto r = co_await client->connect();
                ec = r.error();
                done = true;
            },
            boost::asio::detached);
        ASSERT_TRUE(run_until([&] { return done; }));
        ASSERT_FALSE(ec) << ec.message();
        inspect = std::make_unique<xenstore::blocking_client>(daemon.options());
        ASSERT_TRUE(inspect->connect().ok());
    }
    void TearDown() override {
        if (client) client->close();
        io.poll();
    }
    template <class F>
    bool run_until(F done, std::chrono::milliseconds limit = 10s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io.run_one_for(10ms);
            if (io.stopped()) io.restart();
        }
        return done();
    }
    std::string read(const std::string& path) {
        auto r = inspect->read(path);
        return r.ok() ? *r : "<" + r.error().message() + ">";
    }
    // A whole record for `frame` captured at `time_ns`, written as synjitsu writes it.
    void write_record(const bytes& frame, std::uint64_t time_ns) {
        const auto parsed = packet::parse_frame(frame);
        ASSERT_TRUE(parsed);
        const auto syn = build_queued_syn(*parsed, frame, time_ns, offline_isn_key);
        ASSERT_TRUE(syn);
        const std::string node = syn_node(syn->tuple);
        for (const auto& [name, value] : encode_queued_syn(*syn)) {
            ASSERT_TRUE(inspect->write(node + "/" + std::string(name), value).ok());
        }
    }
    // Connection nodes under /ip/<ip> (records, whatever their state).
    std::size_t count_records(const ip_address& vm) {
        std::size_t n = 0;
        const std::string root = ip_root(vm);
        for (const auto& port : inspect->directory(root).value_or({})) {
            for (const auto& rip : inspect->directory(root + "/" + port).value_or({})) {
                n += inspect->directory(root + "/" + port + "/" + rip).value_or({}).size();
            }
        }
        return n;
    }
};

TEST_F(xenstore_fixture, record_written_then_count_updated) {
    xenstore_queue_store store(*client);
    const bytes frame = test::tcp_frame({});
    const auto parsed = packet::parse_frame(frame);
    const queued_syn syn = *build_queued_syn(*parsed, frame, 42, offline_isn_key);
    std::vector<store_outcome> outcomes;
    store.add(syn, 1, [&](store_outcome o) { outcomes.push_back(o); });
    ASSERT_TRUE(run_until([&] { return outcomes.size() == 1; }));
    EXPECT_EQ(outcomes[0], store_outcome::written);
    const std::string node = "/ip/10-0-0-10/80/10-0-0-101/40001/syn/";
    for (const auto& [name, value] : encode_queued_syn(syn)) {
        EXPECT_EQ(read(node + std::string(name)), value) << name;
    }
    EXPECT_EQ(read(node + "count"), "1");
    store.add(syn, 2, [&](store_outcome o) { outcomes.push_back(o); });
    ASSERT_TRUE(run_until([&] { return outcomes.size() == 2; }));
    EXPECT_EQ(outcomes[1], store_outcome::updated);
    EXPECT_EQ(read(node + "count"), "3");
    EXPECT_EQ(read(node + "sequence"), "1111");  // the rest untouched
}

TEST_F(xenstore_fixture, managed_ip_gets_nothing_written) {
    ASSERT_TRUE(inspect->write("/ip/10-0-0-10", "managed").ok());
    xenstore_queue_store store(*client);
    const bytes frame = test::tcp_frame({});
    const auto parsed = packet::parse_frame(frame);
    const queued_syn syn = *build_queued_syn(*parsed, frame, 42, offline_isn_key);
    std::vector<store_outcome> outcomes;
    store.add(syn, 1, [&](store_outcome o) { outcomes.push_back(o); });
    store.remove(syn.tuple, [&](store_outcome o) { outcomes.push_back(o); });
    ASSERT_TRUE(run_until([&] { return outcomes.size() == 2; }));
    EXPECT_EQ(outcomes[0], store_outcome::managed);
    EXPECT_EQ(outcomes[1], store_outcome::managed);
    auto children = inspect->directory("/ip/10-0-0-10");
    ASSERT_TRUE(children.ok());
    EXPECT_TRUE(children->empty());
}

// What the guest does (syn_queue.h): one transaction reads every record under
// /ip/<ip>, removes them, writes managed; EAGAIN -> again. Returns the SYNs taken.
std::uint64_t guest_take_over(xenstore::blocking_client& xs, const std::string& root) {
    for (int attempt = 0; attempt < 200; ++attempt) {
        auto tx = xs.transaction_start();
        if (!tx.ok()) continue;
        std::uint64_t taken = 0;
        bool failed = false;
        auto ls = [&](const std::string& p) {
            auto r = xs.directory(p, *tx);
            if (!r.ok()) {
                if (r.error() != std::errc::no_such_file_or_directory) failed = true;
                return std::vector<std::string>{};
            }
            return *r;
        };
        for (const auto& port : ls(root)) {
            for (const auto& rip : ls(root + "/" + port)) {
                for (const auto& rport : ls(root + "/" + port + "/" + rip)) {
                    const std::string conn = root + "/" + port + "/" + rip + "/" + rport;
                    auto count = xs.read(conn + "/syn/count", *tx);
                    if (count.ok()) taken += std::stoull(*count);
                    if (!xs.rm(conn, *tx).ok()) failed = true;
                }
            }
        }
        if (!xs.write(root, "managed", *tx).ok()) failed = true;
        auto end = xs.transaction_end(*tx, !failed);
        if (!failed && end.ok()) return taken;
    }
    return UINT64_MAX;
}

TEST_F(xenstore_fixture, take_over_race_loses_and_doubles_nothing) {
    xenstore_queue_store store(*client);
    null_frames sink;
    for (int round = 0; round < 4; ++round) {
        metrics m;
        engine eng(sink, store, m, writer_limits{}, offline_isn_key);
        const ip_address vm(ipv4_address(10, 0, 2, static_cast<std::uint8_t>(round)));
        eng.add_vm(vm, test::vm_mac, vm_source::command_line, 0);
        std::atomic<std::uint64_t> taken{0};
        std::atomic<bool> guest_done{false};
        std::thread guest([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(2 + 3 * round));
            xenstore::blocking_client xs(daemon.options());
            if (xs.connect().ok()) taken = guest_take_over(xs, ip_root(vm));
            guest_done = true;
        });
        // SYNs keep coming (30 tuples, each sent 3 times) while the guest takes over.
        std::uint64_t sent = 0;
        for (int rep = 0; rep < 3; ++rep) {
            for (std::uint16_t p = 0; p < 30; ++p) {
                eng.on_frame(
                    test::tcp_frame({.dst = vm, .sport = static_cast<std::uint16_t>(1000 + p)}),
                    sent);
                ++sent;
                io.poll();
                if (io.stopped()) io.restart();
                std::this_thread::sleep_for(100us);
            }
        }
        ASSERT_TRUE(run_until([&] { return guest_done.load() && eng.writer().idle(); }));
        guest.join();
        ASSERT_NE(taken.load(), UINT64_MAX) << "guest could not commit";
        // Whatever the guest did not take was written after it (none allowed once
        // managed), or dropped because it was managed / no longer served.
        const std::size_t left = count_records(vm);
        EXPECT_EQ(left, 0U) << "records written after managed (round " << round << ")";
        EXPECT_EQ(read(ip_root(vm)), "managed");
        // Every SYN is accounted for exactly once: taken by the guest, refused by the
        // managed check, dropped while waiting, or (once synjitsu knew) left to the VM.
        EXPECT_EQ(taken + m.syns_dropped_managed + m.syns_dropped_inactive + m.ignored_inactive,
                  sent)
            << "round " << round << ": taken " << taken << " managed " << m.syns_dropped_managed
            << " inactive " << m.syns_dropped_inactive << " ignored " << m.ignored_inactive;
        EXPECT_EQ(m.xenstore_errors, 0U);
        if (taken < sent) {
            EXPECT_EQ(eng.table().lookup(vm)->state, vm_state::managed);
        }
    }
}

TEST_F(xenstore_fixture, booting_watch_adds_removes_and_counts_bad_values) {
    null_frames sink;
    metrics m;
    xenstore_queue_store store(*client);
    engine eng(sink, store, m, writer_limits{}, offline_isn_key);
    xenstore_state state(*client, eng, [] { return std::uint64_t{0}; });
    bool started = false;
    boost::asio::co_spawn(
        io,
        [&]() -> xenstore::asio::awaitable<void> {
            auto r = co_await state.start();
            EXPECT_TRUE(r.ok());
            started = true;
        },
        boost::asio::detached);
    ASSERT_TRUE(run_until([&] { return started; }));
    ASSERT_TRUE(inspect->write("/synjitsu/booting/10-0-0-10", "02:00:00:00:00:10").ok());
    ASSERT_TRUE(inspect
                    ->write("/synjitsu/booting/fd00-0000-0000-0000-0000-0000-0000-0010",
                            "02:00:00:00:00:10")
                    .ok());
    ASSERT_TRUE(inspect->write("/synjitsu/booting/10-0-0-300", "02:00:00:00:00:10").ok());
    ASSERT_TRUE(inspect->write("/synjitsu/booting/10-0-0-12", "not-a-mac").ok());
    EXPECT_TRUE(run_until([&] { return eng.table().size() == 2 && !state.busy(); }));
    EXPECT_NE(eng.table().lookup(test::vm_ip), nullptr);
    EXPECT_NE(eng.table().lookup(test::vm6_ip), nullptr);
    EXPECT_GE(m.bad_xenstore_values, 2U);
    // The guest takes over: managed.
    ASSERT_TRUE(inspect->write("/ip/10-0-0-10", "managed").ok());
    EXPECT_TRUE(
        run_until([&] { return eng.table().lookup(test::vm_ip)->state == vm_state::managed; }));
    // jitsu-dns removes the booting node: forgotten.
    ASSERT_TRUE(inspect->rm("/synjitsu/booting/fd00-0000-0000-0000-0000-0000-0000-0010").ok());
    EXPECT_TRUE(run_until([&] { return eng.table().lookup(test::vm6_ip) == nullptr; }));
}

// Host replay's take against the real daemon: the record synjitsu wrote is taken (gone
// from Xenstore, /ip/<ip> = managed, the same take-over as a guest's) and sent to the VM.
TEST_F(xenstore_fixture, host_replay_takes_the_queue_and_sends_it_to_the_vm) {
    struct frames final : frame_sink {
        bool send(std::span<const std::uint8_t> f, std::uint64_t) override {
            const bytes frame(f.begin(), f.end());
            if (const auto p = packet::parse_frame(frame); p && p->tcp) tcp.push_back(frame);
            return true;
        }
        std::vector<bytes> tcp;
    } sink;
    metrics m;
    xenstore_queue_store store(*client);
    engine eng(sink, store, m, writer_limits{}, offline_isn_key);
    test::fake_prober probes;
    xenstore_taker taker(*client, [&](std::uint64_t ticket, take_outcome&& outcome) {
        eng.replay()->on_take_done(ticket, std::move(outcome), 3);
    });
    eng.enable_host_replay(probes, taker, host_replay_limits{});
    ASSERT_TRUE(eng.add_vm(test::vm_ip, booting_value{test::vm_mac, replay_mode::host, {}},
                           vm_source::xenstore, 0));
    eng.on_frame(test::tcp_frame({.sport = 40001, .dst_mac = test::vm_mac}), 1);
    ASSERT_TRUE(run_until([&] { return eng.writer().idle(); }));
    EXPECT_EQ(read("/ip/10-0-0-10/80/10-0-0-101/40001/syn/count"), "1");
    ASSERT_EQ(probes.starts.size(), 1U);
    probes.report(*eng.replay(), probes.starts[0].id, probe_outcome::accepted, 2);
    ASSERT_TRUE(run_until([&] { return !sink.tcp.empty(); }));
    EXPECT_EQ(read("/ip/10-0-0-10"), "managed");
    auto children = inspect->directory("/ip/10-0-0-10");
    ASSERT_TRUE(children.ok());
    EXPECT_TRUE(children->empty());
    ASSERT_EQ(sink.tcp.size(), 1U);
    const auto f = packet::parse_frame(sink.tcp[0]);
    ASSERT_TRUE(f && f->tcp);
    EXPECT_EQ(f->ethernet.dst(), test::vm_mac);
    EXPECT_EQ(f->tcp->src_port(), 40001);
    EXPECT_TRUE(f->tcp->checksum_valid(*f->src_ip(), *f->dst_ip()));
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->state, vm_state::managed);
    EXPECT_EQ(m.host_replays, 1U);
    EXPECT_EQ(m.host_replay_syns_injected, 1U);
}

// The booting value's replay mode and hints reach the engine; a bad value is counted.
TEST_F(xenstore_fixture, booting_watch_reads_replay_host_values) {
    null_frames sink;
    metrics m;
    xenstore_queue_store store(*client);
    engine eng(sink, store, m, writer_limits{}, offline_isn_key);
    test::fake_prober probes;
    test::fake_taker taker;
    eng.enable_host_replay(probes, taker, host_replay_limits{});
    xenstore_state state(*client, eng, [] { return std::uint64_t{0}; });
    bool started = false;
    boost::asio::co_spawn(
        io,
        [&]() -> xenstore::asio::awaitable<void> {
            auto r = co_await state.start();
            EXPECT_TRUE(r.ok());
            started = true;
        },
        boost::asio::detached);
    ASSERT_TRUE(run_until([&] { return started; }));
    // A record left by an earlier synjitsu run: its port is probed too.
    write_record(test::tcp_frame({.dport = 8080}), 0);
    ASSERT_TRUE(
        inspect->write("/synjitsu/booting/10-0-0-10", "02:00:00:00:00:10 replay=host ports=80+443")
            .ok());
    ASSERT_TRUE(
        inspect->write("/synjitsu/booting/10-0-0-11", "02:00:00:00:00:11 replay=sideways").ok());
    EXPECT_TRUE(run_until([&] { return eng.table().size() == 1 && !state.busy(); }));
    ASSERT_NE(eng.table().lookup(test::vm_ip), nullptr);
    EXPECT_EQ(eng.table().lookup(test::vm_ip)->replay, replay_mode::host);
    EXPECT_TRUE(run_until([&] { return eng.replay()->ports(test::vm_ip).size() == 3; }));
    EXPECT_EQ(eng.replay()->ports(test::vm_ip), (std::vector<std::uint16_t>{80, 443, 8080}));
    EXPECT_GE(m.bad_xenstore_values, 1U);
    // jitsu-dns withdraws the entry: probing stops.
    ASSERT_TRUE(inspect->rm("/synjitsu/booting/10-0-0-10").ok());
    EXPECT_TRUE(run_until([&] { return eng.table().lookup(test::vm_ip) == nullptr; }));
    EXPECT_FALSE(eng.replay()->probing(test::vm_ip));
    EXPECT_TRUE(probes.open.empty());
}

// A synjitsu killed (-9) and started again: the records its earlier runs left are read
// at registration, count against --queue-limit (the queue never grows past it however
// often it restarts), and age out by --max-age from their `time` (issue 11, item 4).
struct restart_fixture : xenstore_fixture {
    static constexpr std::uint64_t second = 1'000'000'000ULL;
    static constexpr std::uint64_t t0 = 1'000'000 * second;  // a unix time, ns
    writer_limits limits{.per_ip = 8, .global = 4096, .max_age_ns = 60 * second};
    std::uint64_t now = t0;
    std::uint16_t next_port = 1000;

    // One synjitsu run: registered through /synjitsu/booting, a flood of `syns` distinct
    // 4-tuples, then dropped on the floor without any cleanup (as kill -9 would).
    metrics run(std::size_t syns, std::uint64_t prune_at = 0) {
        null_frames sink;
        metrics m;
        // Its own connection, closed at the end (its watches go with it).
        xenstore::client conn(io.get_executor(), daemon.options());
        xenstore_queue_store store(conn);
        engine eng(sink, store, m, limits, offline_isn_key);
        xenstore_state state(conn, eng, [this] { return now; });
        bool started = false;
        boost::asio::co_spawn(
            io,
            [&]() -> xenstore::asio::awaitable<void> {
                EXPECT_TRUE((co_await conn.connect()).ok());
                EXPECT_TRUE((co_await state.start()).ok());
                started = true;
            },
            boost::asio::detached);
        EXPECT_TRUE(run_until([&] { return started; }));
        EXPECT_TRUE(run_until([&] { return eng.table().size() == 1 && !state.busy(); }));
        for (std::size_t i = 0; i < syns; ++i) {
            eng.on_frame(test::tcp_frame({.sport = next_port++}), now);
            io.poll();
            if (io.stopped()) io.restart();
        }
        if (prune_at != 0) eng.on_tick(prune_at);
        EXPECT_TRUE(run_until([&] { return eng.writer().idle() && !state.busy(); }));
        // Removals are not tracked as pending writes: let them land.
        run_until([] { return false; }, 100ms);
        conn.close();
        io.poll();
        if (io.stopped()) io.restart();
        return m;
    }
    void SetUp() override {
        xenstore_fixture::SetUp();
        ASSERT_TRUE(inspect->write("/synjitsu/booting/10-0-0-10", "02:00:00:00:00:10").ok());
    }
};

TEST_F(restart_fixture, records_of_killed_runs_count_against_the_queue_limit) {
    const metrics first = run(20);
    EXPECT_EQ(first.syns_queued, 8U);
    EXPECT_EQ(count_records(test::vm_ip), 8U);
    for (int restart = 1; restart <= 4; ++restart) {
        now += second;
        const metrics m = run(20);
        EXPECT_EQ(m.records_adopted, 8U) << "restart " << restart;
        EXPECT_EQ(m.syns_queued, 0U) << "restart " << restart;
        EXPECT_EQ(m.syns_dropped_ip_limit, 20U) << "restart " << restart;
        EXPECT_EQ(count_records(test::vm_ip), 8U) << "restart " << restart;
    }
}

TEST_F(restart_fixture, records_of_killed_runs_are_pruned_by_max_age) {
    run(8);
    ASSERT_EQ(count_records(test::vm_ip), 8U);
    // Restarted 30 s later: adopted (not old yet); a tick 61 s after their capture
    // prunes them, and new 4-tuples have room again.
    now += 30 * second;
    const metrics m = run(0, t0 + 61 * second);
    EXPECT_EQ(m.records_adopted, 8U);
    EXPECT_EQ(m.syns_pruned, 8U);
    EXPECT_EQ(m.xenstore_records_removed, 8U);
    EXPECT_EQ(count_records(test::vm_ip), 0U);
    // Records already past --max-age when the restart finds them are removed at once.
    now = t0 + 100 * second;
    run(5);
    now += 61 * second;
    const metrics late = run(3);
    EXPECT_EQ(late.records_adopted, 0U);
    EXPECT_EQ(late.syns_pruned, 5U);
    EXPECT_EQ(late.syns_queued, 3U);
    EXPECT_EQ(count_records(test::vm_ip), 3U);
}

TEST_F(restart_fixture, records_beyond_a_lower_limit_are_removed_oldest_kept) {
    limits.per_ip = 12;
    run(12);
    limits.per_ip = 5;
    now += second;
    const metrics m = run(1);
    EXPECT_EQ(m.records_adopted, 5U);
    EXPECT_EQ(m.records_removed_over_limit, 7U);
    EXPECT_EQ(m.syns_dropped_ip_limit, 1U);
    EXPECT_EQ(count_records(test::vm_ip), 5U);
}

}  // namespace
}  // namespace jitsu::synjitsu
