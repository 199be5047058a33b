// take_queued_syns against the real jitsu-xenstored: ordering, removal, malformed
// records, managed marking, and the take racing synjitsu's writer.
#include "syn_take/take.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <set>

#include "co_assert.h"
#include "guest_test_support.h"

namespace jitsu::guest {
namespace {

namespace asio = boost::asio;
namespace xs = jitsu::xenstore;
using namespace std::chrono_literals;
using testing::make_queued_syn;
using testing::queue_outcome;
using testing::queue_syn;

const ip_address vm = *ip_address::parse("10.0.0.10");
const ip_address other_vm = *ip_address::parse("10.0.0.11");
const ip_address vm6 = *ip_address::parse("fd00::10");

four_tuple conn(std::uint16_t client_port, const char* client = "10.0.0.2", std::uint16_t port = 80,
                const ip_address& local = vm) {
    return {local, port, *ip_address::parse(client), client_port};
}

class guest_take : public ::testing::Test {
  protected:
    guest_take()
        : daemon_(testing::temp_socket_path("take")),
          client_(io_.get_executor(), options()),
          writer_(io_.get_executor(), options()) {}

    xs::client_options options() const {
        xs::client_options o;
        o.socket_path = daemon_.socket_path();
        o.request_timeout = 5000ms;
        return o;
    }

    // Runs `body` (after connecting both clients) with a hard time limit.
    void run(std::function<asio::awaitable<void>()> body, std::chrono::milliseconds limit = 20s) {
        ASSERT_TRUE(daemon_.running()) << "jitsu-xenstored did not start";
        bool done = false;
        auto holder = std::make_shared<std::function<asio::awaitable<void>()>>(std::move(body));
        asio::co_spawn(
            io_,
            [this, holder]() -> asio::awaitable<void> {
                auto a = co_await client_.connect();
                CO_ASSERT(a.ok());
                auto b = co_await writer_.connect();
                CO_ASSERT(b.ok());
                co_await (*holder)();
            },
            [&](std::exception_ptr e) {
                done = true;
                io_.stop();
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                        ADD_FAILURE() << "exception: " << ex.what();
                    }
                }
            });
        io_.run_for(limit);
        EXPECT_TRUE(done) << "test body did not finish in time";
        client_.close();
        writer_.close();
        io_.restart();
        io_.run_for(50ms);
    }

    asio::awaitable<void> queue(const queued_syn& s,
                                queue_outcome expected = queue_outcome::queued) {
        auto r = co_await queue_syn(writer_, s);
        EXPECT_TRUE(r.ok()) << r.error().message();
        if (r) {
            EXPECT_EQ(*r, expected);
        }
    }

    asio::awaitable<std::vector<std::string>> children(const std::string& path) {
        auto r = co_await client_.directory(path);
        co_return r.value_or({});
    }

    testing::xenstored_process daemon_;
    asio::io_context io_;
    xs::client client_;
    xs::client writer_;
};

TEST_F(guest_take, empty_queue_marks_managed) {
    run([&]() -> asio::awaitable<void> {
        const std::array<ip_address, 1> ips{vm};
        auto r = co_await take_queued_syns(client_, ips);
        CO_ASSERT(r.ok());
        EXPECT_TRUE(r->syns.empty());
        EXPECT_TRUE(r->malformed.empty());
        EXPECT_EQ(r->attempts, 1);
        EXPECT_FALSE(r->two_step);
        auto state = co_await client_.read("/ip/10-0-0-10");
        CO_ASSERT(state.ok());
        EXPECT_EQ(*state, "managed");
    });
}

TEST_F(guest_take, returns_records_by_time_then_tuple_and_removes_them) {
    run([&]() -> asio::awaitable<void> {
        // Out of order in time; two share a time (ordered by tuple then).
        co_await queue(make_queued_syn(conn(40000), 300));
        co_await queue(make_queued_syn(conn(40001, "10.0.0.3"), 100));
        co_await queue(make_queued_syn(conn(40002, "10.0.0.2", 443), 200));
        co_await queue(make_queued_syn(conn(40003, "10.0.0.2"), 200));
        co_await queue(make_queued_syn(conn(1, "192.168.1.9"), 50));
        // Someone else's queue stays.
        co_await queue(make_queued_syn(conn(40000, "10.0.0.2", 80, other_vm), 10));

        const std::array<ip_address, 1> ips{vm};
        auto r = co_await take_queued_syns(client_, ips);
        CO_ASSERT(r.ok());
        CO_ASSERT(r->syns.size() == 5U);
        EXPECT_TRUE(r->malformed.empty());
        std::vector<std::uint64_t> times;
        for (const auto& s : r->syns) times.push_back(s.time_ns);
        EXPECT_EQ(times, (std::vector<std::uint64_t>{50, 100, 200, 200, 300}));
        EXPECT_EQ(r->syns[2].tuple, conn(40003, "10.0.0.2"));  // port 80 < 443
        EXPECT_EQ(r->syns[3].tuple, conn(40002, "10.0.0.2", 443));
        EXPECT_EQ(r->syns[0], make_queued_syn(conn(1, "192.168.1.9"), 50));

        EXPECT_TRUE((co_await children("/ip/10-0-0-10")).empty());
        EXPECT_EQ((co_await children("/ip/10-0-0-11")).size(), 1U);
        auto again = co_await take_queued_syns(client_, ips);
        CO_ASSERT(again.ok());
        EXPECT_TRUE(again->syns.empty());
    });
}

TEST_F(guest_take, retransmitted_syn_is_one_record_with_its_count) {
    run([&]() -> asio::awaitable<void> {
        co_await queue(make_queued_syn(conn(40000), 100));
        co_await queue(make_queued_syn(conn(40000), 100));
        co_await queue(make_queued_syn(conn(40000), 100));
        const std::array<ip_address, 1> ips{vm};
        auto r = co_await take_queued_syns(client_, ips);
        CO_ASSERT(r.ok());
        CO_ASSERT(r->syns.size() == 1U);
        EXPECT_EQ(r->syns[0].count, 3U);
    });
}

TEST_F(guest_take, malformed_records_and_stray_nodes_are_removed_and_counted) {
    run([&]() -> asio::awaitable<void> {
        co_await queue(make_queued_syn(conn(40000), 100));
        co_await queue(make_queued_syn(conn(40001), 200));
        co_await queue(make_queued_syn(conn(40002), 300));
        // A bad field value, a missing field, a huge number.
        CO_ASSERT(
            (co_await writer_.write("/ip/10-0-0-10/80/10-0-0-2/40001/syn/mac", "nonsense")).ok());
        CO_ASSERT((co_await writer_.rm("/ip/10-0-0-10/80/10-0-0-2/40002/syn/frame")).ok());
        CO_ASSERT((co_await writer_.write("/ip/10-0-0-10/80/10-0-0-2/9/syn/sequence",
                                          "99999999999999999999999"))
                      .ok());
        // Stray nodes at every level.
        CO_ASSERT((co_await writer_.write("/ip/10-0-0-10/http", "x")).ok());
        CO_ASSERT((co_await writer_.write("/ip/10-0-0-10/0/10-0-0-2/1/syn/count", "1")).ok());
        CO_ASSERT((co_await writer_.write("/ip/10-0-0-10/80/not-an-ip", "x")).ok());
        CO_ASSERT((co_await writer_.write("/ip/10-0-0-10/80/10-0-0-2/70000/syn/count", "1")).ok());
        CO_ASSERT((co_await writer_.write("/ip/10-0-0-10/80/10-0-0-2/5/nosyn", "x")).ok());

        const std::array<ip_address, 1> ips{vm};
        auto r = co_await take_queued_syns(client_, ips);
        CO_ASSERT(r.ok());
        CO_ASSERT(r->syns.size() == 1U);
        EXPECT_EQ(r->syns[0].tuple, conn(40000));
        std::set<std::string> bad;
        for (const auto& m : r->malformed) bad.insert(m.path + " | " + m.reason);
        EXPECT_EQ(bad,
                  (std::set<std::string>{
                      "/ip/10-0-0-10/0 | not a port number",
                      "/ip/10-0-0-10/http | not a port number",
                      "/ip/10-0-0-10/80/10-0-0-2/40001 | mac: not a MAC address aa:bb:cc:dd:ee:ff",
                      "/ip/10-0-0-10/80/10-0-0-2/40002 | frame: missing",
                      "/ip/10-0-0-10/80/10-0-0-2/9 | tx_wnd: missing",
                      "/ip/10-0-0-10/80/10-0-0-2/5 | no syn record",
                      "/ip/10-0-0-10/80/10-0-0-2/70000 | not a port number",
                      "/ip/10-0-0-10/80/not-an-ip | not an IP address in Xenstore form",
                  }));
        EXPECT_TRUE((co_await children("/ip/10-0-0-10")).empty());
        auto state = co_await client_.read("/ip/10-0-0-10");
        EXPECT_EQ(state.value_or(""), "managed");
    });
}

TEST_F(guest_take, takes_every_address_of_the_vm_in_one_transaction) {
    run([&]() -> asio::awaitable<void> {
        const four_tuple t6{vm6, 80, *ip_address::parse("fd00::2"), 50000};
        co_await queue(make_queued_syn(t6, 200));
        co_await queue(make_queued_syn(conn(40000), 100));
        const std::array<ip_address, 2> ips{vm, vm6};
        auto r = co_await take_queued_syns(client_, ips);
        CO_ASSERT(r.ok());
        CO_ASSERT(r->syns.size() == 2U);
        EXPECT_EQ(r->syns[0].tuple, conn(40000));
        EXPECT_EQ(r->syns[1].tuple, t6);
        EXPECT_EQ((co_await client_.read("/ip/10-0-0-10")).value_or(""), "managed");
        EXPECT_EQ((co_await client_.read("/ip/" + vm6.to_xenstore())).value_or(""), "managed");
        // synjitsu's writer now stands down for both.
        co_await queue(make_queued_syn(conn(40009), 300), queue_outcome::managed);
        co_await queue(make_queued_syn({vm6, 80, *ip_address::parse("fd00::2"), 50009}, 300),
                       queue_outcome::managed);
        EXPECT_TRUE((co_await children("/ip/10-0-0-10")).empty());
    });
}

// The deterministic race: synjitsu commits a SYN after the take read the queue and
// before it committed. The take's commit must conflict and its retry hand the SYN over.
TEST_F(guest_take, syn_queued_during_the_take_is_retried_not_lost) {
    run([&]() -> asio::awaitable<void> {
        co_await queue(make_queued_syn(conn(40000), 100));
        take_options opts;
        std::vector<int> seen;
        opts.after_read = [&](int attempt) -> asio::awaitable<void> {
            seen.push_back(attempt);
            if (attempt == 1) co_await queue(make_queued_syn(conn(40001), 200));
        };
        const std::array<ip_address, 1> ips{vm};
        auto r = co_await take_queued_syns(client_, ips, opts);
        CO_ASSERT(r.ok());
        EXPECT_EQ(seen, (std::vector<int>{1, 2}));
        EXPECT_EQ(r->attempts, 2);
        CO_ASSERT(r->syns.size() == 2U);
        EXPECT_EQ(r->syns[1].tuple, conn(40001));
        EXPECT_TRUE((co_await children("/ip/10-0-0-10")).empty());
    });
}

// A writer into a different connection node of the same ip also conflicts: the take
// read /ip/<ip>/80's children and the writer added one.
TEST_F(guest_take, syn_for_a_new_port_during_the_take_is_retried) {
    run([&]() -> asio::awaitable<void> {
        take_options opts;
        opts.after_read = [&](int attempt) -> asio::awaitable<void> {
            if (attempt == 1) co_await queue(make_queued_syn(conn(40001, "10.0.0.7", 8080), 200));
        };
        const std::array<ip_address, 1> ips{vm};
        auto r = co_await take_queued_syns(client_, ips, opts);
        CO_ASSERT(r.ok());
        CO_ASSERT(r->syns.size() == 1U);
        EXPECT_EQ(r->syns[0].tuple, conn(40001, "10.0.0.7", 8080));
        EXPECT_GE(r->attempts, 2);
    });
}

// Stochastic race: a writer streams SYNs while the take runs on another connection.
// Every SYN the writer queued (saw no "managed") is handed over exactly once; every
// SYN it dropped saw "managed"; nothing is left behind.
TEST_F(guest_take, concurrent_writer_never_loses_a_syn) {
    run([&]() -> asio::awaitable<void> {
        std::set<std::uint16_t> queued, dropped;
        bool writer_done = false;
        asio::co_spawn(
            io_,
            [&]() -> asio::awaitable<void> {
                for (std::uint16_t port = 1000; port < 1200; ++port) {
                    auto r = co_await queue_syn(writer_, make_queued_syn(conn(port), port));
                    if (!r) {
                        ADD_FAILURE() << r.error().message();
                        break;
                    }
                    (*r == queue_outcome::queued ? queued : dropped).insert(port);
                }
                writer_done = true;
            },
            asio::detached);
        // Let the writer get going, then take while it continues.
        asio::steady_timer t(io_);
        for (int i = 0; i < 2000 && queued.size() < 40; ++i) {
            t.expires_after(1ms);
            co_await t.async_wait(asio::use_awaitable);
        }
        const std::array<ip_address, 1> ips{vm};
        auto r = co_await take_queued_syns(client_, ips);
        CO_ASSERT(r.ok());
        for (int i = 0; i < 20000 && !writer_done; ++i) {
            t.expires_after(1ms);
            co_await t.async_wait(asio::use_awaitable);
        }
        CO_ASSERT(writer_done);
        std::multiset<std::uint16_t> taken;
        for (const auto& s : r->syns) taken.insert(s.tuple.remote_port);
        EXPECT_EQ(std::set<std::uint16_t>(taken.begin(), taken.end()), queued);
        EXPECT_EQ(taken.size(), queued.size()) << "a SYN was handed over twice";
        EXPECT_FALSE(dropped.empty()) << "the writer never ran after the take";
        EXPECT_EQ(queued.size() + dropped.size(), 200U);
        EXPECT_TRUE((co_await children("/ip/10-0-0-10")).empty());
        std::cout << "[ info ] take: " << queued.size() << " queued before, " << dropped.size()
                  << " dropped after, " << r->attempts << " attempt(s)"
                  << (r->two_step ? ", two-step" : "") << "\n";
    });
}

// When the single transaction keeps conflicting, the two-step fallback (mark managed,
// then drain) hands over everything committed before the mark.
TEST_F(guest_take, persistent_conflicts_fall_back_to_two_steps) {
    run([&]() -> asio::awaitable<void> {
        co_await queue(make_queued_syn(conn(40000), 100));
        take_options opts;
        opts.max_attempts = 2;
        std::vector<int> seen;
        std::uint16_t next_port = 40001;
        opts.after_read = [&](int attempt) -> asio::awaitable<void> {
            seen.push_back(attempt);
            // Conflict every attempt of the single transaction; after the mark the
            // writer stands down.
            const auto expected = attempt > 0 ? queue_outcome::queued : queue_outcome::managed;
            const std::uint16_t port = next_port++;
            co_await queue(make_queued_syn(conn(port), port), expected);
        };
        const std::array<ip_address, 1> ips{vm};
        auto r = co_await take_queued_syns(client_, ips, opts);
        CO_ASSERT(r.ok());
        EXPECT_TRUE(r->two_step);
        EXPECT_EQ(seen, (std::vector<int>{1, 2, -1}));
        EXPECT_EQ(r->attempts, 4);  // 2 single, 1 mark, 1 drain
        std::set<std::uint16_t> ports;
        for (const auto& s : r->syns) ports.insert(s.tuple.remote_port);
        EXPECT_EQ(ports, (std::set<std::uint16_t>{40000, 40001, 40002}));
        EXPECT_TRUE((co_await children("/ip/10-0-0-10")).empty());
        EXPECT_EQ((co_await client_.read("/ip/10-0-0-10")).value_or(""), "managed");
    });
}

TEST_F(guest_take, fails_cleanly_without_a_connection) {
    asio::io_context io;
    xs::client lonely(io.get_executor(), options());
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            const std::array<ip_address, 1> ips{vm};
            auto r = co_await take_queued_syns(lonely, ips);
            EXPECT_FALSE(r.ok());
            done = true;
        },
        asio::detached);
    io.run_for(5s);
    EXPECT_TRUE(done);
}

}  // namespace
}  // namespace jitsu::guest
