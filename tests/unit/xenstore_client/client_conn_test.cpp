// Watches, reconnects, protocol errors, timeouts, teardown and the blocking wrapper,
// against the fake xenstored.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cerrno>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.h"
#include "xenstore/blocking_client.h"

namespace jitsu::xenstore::testing {
namespace {

using event = std::pair<std::string, std::string>;  // (path, token)

class xenstore_client_watch : public client_fixture {};
class xenstore_client_reconnect : public client_fixture {};
class xenstore_client_robustness : public client_fixture {};
class xenstore_client_blocking : public ::testing::Test {};

// --- Watches ---

TEST_F(xenstore_client_watch, initial_event_and_routing_by_token) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        std::vector<event> booting, ip;
        CO_ASSERT((co_await c.watch(
                       "/synjitsu/booting", "booting",
                       [&](std::string_view p, std::string_view t) { booting.emplace_back(p, t); }))
                      .ok());
        CO_ASSERT((co_await c.watch("/ip", "ip", [&](std::string_view p, std::string_view t) {
                      ip.emplace_back(p, t);
                  })).ok());
        // Initial events, one per watch, each to its own handler.
        CO_ASSERT(co_await eventually([&] { return booting.size() == 1 && ip.size() == 1; }));
        EXPECT_EQ(booting[0], (event{"/synjitsu/booting", "booting"}));
        EXPECT_EQ(ip[0], (event{"/ip", "ip"}));

        CO_ASSERT((co_await c.write("/synjitsu/booting/10-0-0-10", "aa:bb:cc:dd:ee:ff")).ok());
        CO_ASSERT(co_await eventually([&] { return booting.size() >= 2; }));
        // "/synjitsu" itself is created too, but only its subtree is watched.
        EXPECT_EQ(booting.back(), (event{"/synjitsu/booting/10-0-0-10", "booting"}));
        CO_ASSERT((co_await c.write("/ip/10-0-0-10", "managed")).ok());
        CO_ASSERT(co_await eventually([&] { return ip.size() == 2; }));
        EXPECT_EQ(ip.back(), (event{"/ip/10-0-0-10", "ip"}));
        CO_ASSERT((co_await c.write("/elsewhere", "x")).ok());
        co_await sleep_for(10ms);
        EXPECT_EQ(ip.size(), 2u);
        EXPECT_EQ(c.stats().watch_events, booting.size() + ip.size());
    });
}

TEST_F(xenstore_client_watch, duplicate_token_is_refused_locally) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        CO_ASSERT((co_await c.watch("/a", "tok", [](auto, auto) {})).ok());
        auto before = server.count(XS_WATCH);
        EXPECT_EQ((co_await c.watch("/b", "tok", [](auto, auto) {})).error(),
                  std::errc::file_exists);
        EXPECT_EQ(server.count(XS_WATCH), before);
    });
}

TEST_F(xenstore_client_watch, rejected_watch_is_not_kept) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        int calls = 0;
        EXPECT_EQ((co_await c.watch("//bad", "t", [&](auto, auto) { ++calls; })).error(),
                  std::errc::invalid_argument);
        // The token is free again.
        EXPECT_TRUE((co_await c.watch("/good", "t", [&](auto, auto) { ++calls; })).ok());
        CO_ASSERT(co_await eventually([&] { return calls == 1; }));
    });
}

TEST_F(xenstore_client_watch, unwatch_stops_events) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        int a = 0, b = 0;
        CO_ASSERT((co_await c.watch("/w", "a", [&](auto, auto) { ++a; })).ok());
        CO_ASSERT((co_await c.watch("/w", "b", [&](auto, auto) { ++b; })).ok());
        CO_ASSERT(co_await eventually([&] { return a == 1 && b == 1; }));
        CO_ASSERT((co_await c.unwatch("/w", "a")).ok());
        CO_ASSERT((co_await c.write("/w/x", "1")).ok());
        CO_ASSERT(co_await eventually([&] { return b == 2; }));
        co_await sleep_for(10ms);
        EXPECT_EQ(a, 1);
        EXPECT_EQ((co_await c.unwatch("/w", "a")).error(), std::errc::no_such_file_or_directory);
    });
}

TEST_F(xenstore_client_watch, handler_may_unwatch_itself_or_close_the_client) {
    run([&]() -> asio::awaitable<void> {
        auto c = std::make_unique<client>(io.get_executor(), options());
        CO_ASSERT((co_await c->connect()).ok());
        int self_removing = 0;
        CO_ASSERT((co_await c->watch("/s", "once", [&](auto, auto) {
                      ++self_removing;
                      asio::co_spawn(io, c->unwatch("/s", "once"), asio::detached);
                  })).ok());
        CO_ASSERT(co_await eventually([&] { return self_removing == 1; }));
        CO_ASSERT((co_await c->write("/s/x", "1")).ok());
        int closer = 0;
        CO_ASSERT((co_await c->watch("/c", "closer", [&](auto, auto) {
                      ++closer;
                      c.reset();  // destroy the client from its handler
                  })).ok());
        CO_ASSERT(co_await eventually([&] { return closer == 1; }));
        EXPECT_EQ(c, nullptr);
        EXPECT_EQ(self_removing, 1);
        co_await sleep_for(10ms);
    });
}

// --- Reconnect ---

TEST_F(xenstore_client_reconnect, drop_fails_in_flight_then_reconnects_and_rewatches) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        std::vector<std::pair<connection_state, std::error_code>> states;
        c.on_state([&](connection_state s, std::error_code ec) { states.emplace_back(s, ec); });
        CO_ASSERT((co_await c.connect()).ok());
        CO_ASSERT(states.size() == 1u && states[0].first == connection_state::connected);
        std::vector<event> events;
        CO_ASSERT((co_await c.watch(
                       "/synjitsu/booting", "b",
                       [&](std::string_view p, std::string_view t) { events.emplace_back(p, t); }))
                      .ok());
        CO_ASSERT(co_await eventually([&] { return events.size() == 1; }));
        auto tx = co_await c.transaction_start();
        CO_ASSERT(tx.ok());

        // A read the server holds, then the connection drops under it.
        server.hold = true;
        std::optional<result<std::string>> in_flight;
        asio::co_spawn(
            io, [&]() -> asio::awaitable<void> { in_flight.emplace(co_await c.read("/x")); },
            asio::detached);
        CO_ASSERT(co_await eventually([&] { return server.held_count() == 1; }));
        server.hold = false;
        server.drop_connections();

        CO_ASSERT(co_await eventually([&] { return in_flight.has_value(); }));
        EXPECT_EQ(in_flight->error(), client_errc::connection_lost);
        CO_ASSERT(states.size() >= 2u);
        EXPECT_EQ(states[1].first, connection_state::disconnected);

        // Back by itself; the watch is registered again and fires its initial event.
        CO_ASSERT(co_await eventually([&] { return c.connected(); }));
        EXPECT_EQ(states.back().first, connection_state::connected);
        CO_ASSERT(co_await eventually([&] { return events.size() == 2; }));
        EXPECT_EQ(events[1], (event{"/synjitsu/booting", "b"}));
        EXPECT_EQ(server.accepted(), 2u);

        // The old transaction died with the old connection.
        EXPECT_EQ((co_await c.write("/t", "1", *tx)).error(), client_errc::transaction_lost);
        EXPECT_EQ((co_await c.transaction_end(*tx, true)).error(), client_errc::transaction_lost);

        // And everything works again, watch included.
        CO_ASSERT((co_await c.write("/synjitsu/booting/10-0-0-9", "m")).ok());
        CO_ASSERT(co_await eventually([&] { return events.size() == 3; }));
        EXPECT_EQ(c.stats().connects, 2u);
        EXPECT_EQ(c.stats().disconnects, 1u);
    });
}

TEST_F(xenstore_client_reconnect, requests_fail_fast_while_server_is_down) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        int connects = 0;
        c.on_state([&](connection_state s, std::error_code) {
            if (s == connection_state::connected) ++connects;
        });
        CO_ASSERT((co_await c.connect()).ok());
        CO_ASSERT(co_await eventually([&] { return server.sessions() == 1; }));  // accepted
        server.stop();  // closes sessions, nobody listens
        CO_ASSERT(co_await eventually([&] { return !c.connected(); }));
        EXPECT_EQ((co_await c.read("/x")).error(), client_errc::not_connected);
        EXPECT_EQ((co_await c.connect()).error(), client_errc::connect_in_progress);
        co_await sleep_for(60ms);  // several failed attempts, with backoff
        server.start();
        CO_ASSERT(co_await eventually([&] { return c.connected(); }));
        EXPECT_EQ(connects, 2);
        EXPECT_TRUE((co_await c.write("/back", "1")).ok());
    });
}

TEST_F(xenstore_client_reconnect, transaction_slot_waiters_are_released_by_a_drop) {
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.max_transactions = 1;
        client c(io.get_executor(), o);
        CO_ASSERT((co_await c.connect()).ok());
        auto t1 = co_await c.transaction_start();
        CO_ASSERT(t1.ok());
        std::optional<result<tx_id>> t2;
        asio::co_spawn(
            io, [&]() -> asio::awaitable<void> { t2.emplace(co_await c.transaction_start()); },
            asio::detached);
        co_await sleep_for(10ms);
        CO_ASSERT(!t2.has_value());
        server.drop_connections();
        CO_ASSERT(co_await eventually([&] { return t2.has_value(); }));
        EXPECT_EQ(t2->error(), client_errc::not_connected);
        // After the reconnect the slot of the dead transaction is free again.
        CO_ASSERT(co_await eventually([&] { return c.connected(); }));
        auto t3 = co_await c.transaction_start();
        CO_ASSERT(t3.ok());
        EXPECT_TRUE((co_await c.transaction_end(*t3, true)).ok());
        EXPECT_EQ((co_await c.transaction_end(*t1, true)).error(), client_errc::transaction_lost);
    });
}

TEST_F(xenstore_client_reconnect, no_reconnect_when_disabled) {
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.reconnect = false;
        client c(io.get_executor(), o);
        CO_ASSERT((co_await c.connect()).ok());
        CO_ASSERT(co_await eventually([&] { return server.sessions() == 1; }));  // accepted
        server.drop_connections();
        CO_ASSERT(co_await eventually([&] { return !c.connected(); }));
        co_await sleep_for(40ms);
        EXPECT_FALSE(c.connected());
        EXPECT_EQ(server.accepted(), 1u);
        // An explicit connect() works.
        EXPECT_TRUE((co_await c.connect()).ok());
        EXPECT_TRUE((co_await c.write("/x", "1")).ok());
    });
}

TEST_F(xenstore_client_reconnect, transact_survives_a_reconnect_between_attempts) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        int attempts = 0;
        auto r = co_await c.transact([&](tx_id tx) -> asio::awaitable<result<void>> {
            if (++attempts == 1) {
                // The connection drops mid-body and comes back before the next write.
                server.drop_connections();
                co_await eventually([&] { return !c.connected(); });
                co_await eventually([&] { return c.connected(); });
            }
            co_return co_await c.write("/tx/r", "done", tx);
        });
        EXPECT_TRUE(r.ok()) << r.error().message();
        EXPECT_EQ(attempts, 2);
        EXPECT_EQ(server.nodes["/tx/r"], "done");
    });
}

// --- Protocol errors from the server ---

struct garbage_case {
    const char* name;
    // Given the header of the client's READ /garbage, what the server sends back.
    std::function<std::vector<std::uint8_t>(const header&)> reply;
};

std::vector<std::uint8_t> header_bytes(header h) {
    auto a = encode_header(h);
    return {a.begin(), a.end()};
}

std::vector<garbage_case> garbage_cases() {
    return {
        {"oversized_len",
         [](const header& h) {
             return header_bytes(
                 {XS_READ, h.req_id, 0, static_cast<std::uint32_t>(payload_max + 1)});
         }},
        {"huge_len",
         [](const header& h) {
             return header_bytes({XS_READ, h.req_id, 0, 0xffffffffu});
         }},
        {"wrong_reply_type",
         [](const header& h) { return make_message(XS_WRITE, h.req_id, 0, "OK"); }},
        {"unknown_req_id",
         [](const header& h) { return make_message(XS_READ, h.req_id + 1000, 0, "v"); }},
        {"watch_event_without_nul",
         [](const header&) { return make_message(XS_WATCH_EVENT, 0, 0, "/path-only"); }},
        {"random_bytes",
         [](const header&) {
             std::mt19937 rng(7);
             std::vector<std::uint8_t> b(300);
             for (auto& x : b) x = static_cast<std::uint8_t>(rng());
             return b;
         }},
    };
}

TEST_F(xenstore_client_robustness, garbage_from_server_drops_connection_without_crash) {
    for (const auto& gc : garbage_cases()) {
        SCOPED_TRACE(gc.name);
        server.intercept =
            [&](const header& h,
                std::string_view payload) -> std::optional<std::vector<std::uint8_t>> {
            if (h.type == XS_READ && payload_reader(payload).next_string() == "/garbage") {
                return gc.reply(h);
            }
            return std::nullopt;
        };
        run([&]() -> asio::awaitable<void> {
            client c(io.get_executor(), options());
            std::vector<std::error_code> reasons;
            c.on_state([&](connection_state s, std::error_code ec) {
                if (s == connection_state::disconnected) reasons.push_back(ec);
            });
            CO_ASSERT((co_await c.connect()).ok());
            auto r = co_await c.read("/garbage");
            EXPECT_FALSE(r.ok());
            // Either the garbage broke the connection (connection_lost), or, for random
            // bytes that happen to frame as a short message, we wait for the drop.
            CO_ASSERT(co_await eventually([&] { return !reasons.empty(); }));
            EXPECT_EQ(reasons[0], client_errc::protocol_error);
            EXPECT_EQ(c.stats().protocol_errors, 1u);
            CO_ASSERT(co_await eventually([&] { return c.connected(); }));
            EXPECT_TRUE((co_await c.write("/after", "ok")).ok());
        });
        server.intercept = nullptr;
    }
}

TEST_F(xenstore_client_robustness, unsolicited_garbage_is_a_protocol_error) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        std::error_code reason;
        c.on_state([&](connection_state s, std::error_code ec) {
            if (s == connection_state::disconnected) reason = ec;
        });
        CO_ASSERT((co_await c.connect()).ok());
        CO_ASSERT(co_await eventually([&] { return server.sessions() == 1; }));  // accepted
        server.send_raw(header_bytes({XS_READ, 12345, 0, 0x10000000u}));
        CO_ASSERT(co_await eventually([&] { return static_cast<bool>(reason); }));
        EXPECT_EQ(reason, client_errc::protocol_error);
    });
}

TEST_F(xenstore_client_robustness, timeout_fails_the_request_keeps_the_connection) {
    std::optional<header> swallowed;
    server.intercept = [&](const header& h,
                           std::string_view payload) -> std::optional<std::vector<std::uint8_t>> {
        if (payload_reader(payload).next_string() == "/slow") {
            swallowed = h;
            return std::vector<std::uint8_t>{};  // no reply
        }
        return std::nullopt;
    };
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.request_timeout = 50ms;
        client c(io.get_executor(), o);
        CO_ASSERT((co_await c.connect()).ok());
        auto start = std::chrono::steady_clock::now();
        auto r = co_await c.read("/slow");
        auto took = std::chrono::steady_clock::now() - start;
        EXPECT_EQ(r.error(), client_errc::timeout);
        EXPECT_GE(took, 50ms);
        EXPECT_LT(took, 1000ms);
        EXPECT_TRUE(c.connected());
        EXPECT_EQ(c.stats().timeouts, 1u);
        // The late reply is recognised and ignored, not a protocol error.
        CO_ASSERT(swallowed.has_value());
        server.send_raw(make_message(XS_READ, swallowed->req_id, 0, "late"));
        CO_ASSERT((co_await c.write("/fast", "1")).ok());
        EXPECT_TRUE(c.connected());
        EXPECT_EQ(c.stats().protocol_errors, 0u);
        EXPECT_EQ(c.stats().in_flight, 0u);
    });
}

TEST_F(xenstore_client_robustness, stuck_server_is_dropped_when_all_slots_time_out) {
    server.hold = true;  // never answers
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.request_timeout = 30ms;
        o.max_in_flight = 2;
        client c(io.get_executor(), o);
        std::error_code reason;
        c.on_state([&](connection_state s, std::error_code ec) {
            if (s == connection_state::disconnected && !reason) reason = ec;
        });
        CO_ASSERT((co_await c.connect()).ok());
        int finished = 0;
        for (int i = 0; i < 3; ++i) {
            asio::co_spawn(
                io,
                [&]() -> asio::awaitable<void> {
                    auto r = co_await c.read("/stuck");
                    EXPECT_FALSE(r.ok());
                    ++finished;
                },
                asio::detached);
        }
        CO_ASSERT(co_await eventually([&] { return finished == 3; }));
        CO_ASSERT(co_await eventually([&] { return static_cast<bool>(reason); }));
        EXPECT_EQ(reason, client_errc::timeout);
    });
}

TEST_F(xenstore_client_robustness, destroying_the_client_with_pending_ops) {
    run([&]() -> asio::awaitable<void> {
        auto c = std::make_unique<client>(io.get_executor(), options());
        CO_ASSERT((co_await c->connect()).ok());
        CO_ASSERT((co_await c->watch("/w", "t", [](auto, auto) {})).ok());
        server.hold = true;
        std::vector<std::error_code> results;
        std::vector<client::string_pair> batch{{"/b1", "1"}, {"/b2", "2"}};
        for (int i = 0; i < 5; ++i) {
            asio::co_spawn(
                io,
                [&]() -> asio::awaitable<void> {
                    results.push_back((co_await c->read("/pending")).error());
                },
                asio::detached);
        }
        asio::co_spawn(
            io,
            [&, cl = c.get()]() -> asio::awaitable<void> {
                results.push_back((co_await cl->write_many(batch)).error());
            },
            asio::detached);
        CO_ASSERT(co_await eventually([&] { return server.held_count() == 7; }));
        c.reset();  // pending: 5 reads and a batch of 2
        CO_ASSERT(co_await eventually([&] { return results.size() == 6; }));
        for (auto ec : results) EXPECT_EQ(ec, client_errc::closed);
    });
}

TEST_F(xenstore_client_robustness, destroying_client_and_context_without_running) {
    // Pending operations whose io_context is never run again: nothing leaks or crashes
    // (checked under ASan/LSan).
    auto ctx = std::make_unique<asio::io_context>();
    auto c = std::make_unique<client>(ctx->get_executor(), options());
    bool connected = false;
    asio::co_spawn(
        *ctx, [&]() -> asio::awaitable<void> { connected = (co_await c->connect()).ok(); },
        asio::detached);
    for (int i = 0; i < 100 && !connected; ++i) {
        ctx->run_one_for(10ms);
        io.poll();  // the fake server lives on the fixture's io
    }
    ASSERT_TRUE(connected);
    for (int i = 0; i < 3; ++i) {
        asio::co_spawn(
            *ctx, [&]() -> asio::awaitable<void> { (void)co_await c->read("/never"); },
            asio::detached);
    }
    ctx->poll();
    c.reset();
    ctx.reset();
}

// --- Blocking wrapper ---

TEST_F(xenstore_client_blocking, basics_against_a_server_thread) {
    asio::io_context server_io;
    auto p = temp_socket_path();
    fake_xenstored server(server_io.get_executor(), p);
    server.start();
    auto guard = asio::make_work_guard(server_io);
    std::thread t([&] { server_io.run(); });

    {
        client_options o;
        o.socket_path = p;
        o.request_timeout = 5000ms;
        blocking_client c(o);
        EXPECT_EQ(c.read("/x").error(), client_errc::not_connected);
        ASSERT_TRUE(c.connect().ok());
        EXPECT_TRUE(c.connected());
        ASSERT_TRUE(c.write("/jitsu/vm/u/state", "running").ok());
        EXPECT_EQ(c.read("/jitsu/vm/u/state").value(), "running");
        EXPECT_EQ(c.read("/nope").error(), std::errc::no_such_file_or_directory);
        EXPECT_EQ(c.directory("/jitsu/vm").value(), std::vector<std::string>{"u"});
        EXPECT_EQ(c.get_domain_path(3).value(), "/local/domain/3");

        auto tx = c.transaction_start();
        ASSERT_TRUE(tx.ok());
        std::vector<client::string_pair> writes{{"/jitsu/vm/u/ip", "10.0.0.10"},
                                                {"/jitsu/vm/u/domid", "4"}};
        ASSERT_TRUE(c.write_many(writes, *tx).ok());
        ASSERT_TRUE(c.transaction_end(*tx, true).ok());
        EXPECT_EQ(c.read("/jitsu/vm/u/domid").value(), "4");

        std::vector<std::string> seen;
        ASSERT_TRUE(c.watch("/ip", "ip", [&](std::string_view path, std::string_view) {
                         seen.emplace_back(path);
                     }).ok());
        ASSERT_TRUE(c.run_until([&] { return !seen.empty(); }, 2000ms));
        ASSERT_TRUE(c.write("/ip/10-0-0-10", "managed").ok());
        ASSERT_TRUE(c.run_until([&] { return seen.size() == 2; }, 2000ms));
        EXPECT_EQ(seen[1], "/ip/10-0-0-10");
        EXPECT_FALSE(c.run_until([] { return false; }, 5ms));
        ASSERT_TRUE(c.unwatch("/ip", "ip").ok());
        ASSERT_TRUE(c.rm("/jitsu").ok());
        EXPECT_EQ(c.read("/jitsu/vm/u/ip").error(), std::errc::no_such_file_or_directory);
    }

    asio::post(server_io, [&] { server.stop(); });
    guard.reset();
    asio::post(server_io, [&] { server_io.stop(); });
    t.join();
}

}  // namespace
}  // namespace jitsu::xenstore::testing
