// The client's operations against the fake xenstored: every op, error mapping,
// pipelining, batches and transactions.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "test_support.h"

namespace jitsu::xenstore::testing {
namespace {

using namespace std::string_view_literals;

class xenstore_client_ops : public client_fixture {};

// prefix + decimal i. (Not `"v" + std::to_string(i)`: GCC 12 -O3 warns falsely about it,
// -Wrestrict, GCC bug 105651.)
std::string numbered(std::string_view prefix, int i) {
    std::string s(prefix);
    s.append(std::to_string(i));
    return s;
}

TEST_F(xenstore_client_ops, connect_fails_cleanly_without_server) {
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.socket_path = temp_socket_path();  // nobody listens there
        client c(io.get_executor(), o);
        auto r = co_await c.connect();
        CO_ASSERT(!r);
        EXPECT_EQ(r.error(), std::errc::no_such_file_or_directory);
        EXPECT_FALSE(c.connected());
        // Nothing was ever connected: requests fail fast, nothing queued.
        auto rd = co_await c.read("/x");
        EXPECT_EQ(rd.error(), client_errc::not_connected);
    });
}

TEST_F(xenstore_client_ops, connect_is_idempotent_and_close_is_final) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        EXPECT_TRUE((co_await c.connect()).ok());  // already connected
        EXPECT_TRUE(c.connected());
        c.close();
        c.close();
        EXPECT_FALSE(c.connected());
        EXPECT_EQ((co_await c.read("/x")).error(), client_errc::closed);
        EXPECT_EQ((co_await c.connect()).error(), client_errc::closed);
        EXPECT_EQ((co_await c.watch("/x", "t", [](auto, auto) {})).error(), client_errc::closed);
    });
}

TEST_F(xenstore_client_ops, read_write_mkdir_rm) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());

        CO_ASSERT((co_await c.write("/a/b", "hello")).ok());
        auto v = co_await c.read("/a/b");
        CO_ASSERT(v.ok());
        EXPECT_EQ(*v, "hello");
        EXPECT_EQ(server.nodes["/a/b"], "hello");
        EXPECT_EQ(*co_await c.read("/a"), "");  // parent created empty

        // Values are bytes: embedded NULs and the empty value survive.
        CO_ASSERT((co_await c.write("/bin", "x\0y"sv)).ok());
        EXPECT_EQ(*co_await c.read("/bin"), "x\0y"sv);
        CO_ASSERT((co_await c.write("/empty", "")).ok());
        EXPECT_EQ(*co_await c.read("/empty"), "");

        CO_ASSERT((co_await c.mkdir("/d/e")).ok());
        EXPECT_TRUE(server.nodes.contains("/d/e"));

        CO_ASSERT((co_await c.rm("/a")).ok());
        EXPECT_EQ((co_await c.read("/a/b")).error(), std::errc::no_such_file_or_directory);
        // rm of a missing node is fine if its parent exists, ENOENT otherwise.
        EXPECT_TRUE((co_await c.rm("/d/missing")).ok());
        EXPECT_EQ((co_await c.rm("/nope/missing")).error(), std::errc::no_such_file_or_directory);

        // Relative paths are the server's business (dom0: /local/domain/0/...).
        CO_ASSERT((co_await c.write("data/status", "ready")).ok());
        EXPECT_EQ(server.nodes["/local/domain/0/data/status"], "ready");
        EXPECT_EQ(*co_await c.read("data/status"), "ready");
    });
}

TEST_F(xenstore_client_ops, directory_perms_domain_path) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        for (auto name : {"x", "y", "z"}) {
            CO_ASSERT((co_await c.write("/dir/" + std::string(name), name)).ok());
        }
        CO_ASSERT((co_await c.write("/dir/x/deep", "1")).ok());
        auto names = co_await c.directory("/dir");
        CO_ASSERT(names.ok());
        EXPECT_EQ(*names, (std::vector<std::string>{"x", "y", "z"}));
        auto empty = co_await c.directory("/dir/y");
        CO_ASSERT(empty.ok());
        EXPECT_TRUE(empty->empty());
        EXPECT_EQ((co_await c.directory("/nope")).error(), std::errc::no_such_file_or_directory);

        auto perms = co_await c.get_perms("/dir");
        CO_ASSERT(perms.ok());
        EXPECT_EQ(*perms, (std::vector<permission>{{access::none, 0}}));
        std::vector<permission> want{{access::both, 0}, {access::read, 5}, {access::write, 7}};
        CO_ASSERT((co_await c.set_perms("/dir", want)).ok());
        EXPECT_EQ(*co_await c.get_perms("/dir"), want);
        EXPECT_EQ((co_await c.get_perms("/nope")).error(), std::errc::no_such_file_or_directory);

        auto dp = co_await c.get_domain_path(5);
        CO_ASSERT(dp.ok());
        EXPECT_EQ(*dp, "/local/domain/5");
    });
}

TEST_F(xenstore_client_ops, directory_falls_back_to_directory_part_on_e2big) {
    server.directory_limit = 20;  // DIRECTORY answers E2BIG beyond 20 bytes of names
    server.directory_page = 24;   // DIRECTORY_PART pages of at most 24 bytes
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        std::vector<std::string> want;
        for (int i = 0; i < 30; ++i) {
            auto name = numbered("child", 100 + i);
            want.push_back(name);
            CO_ASSERT((co_await c.write("/big/" + name, "v")).ok());
        }
        auto names = co_await c.directory("/big");
        CO_ASSERT(names.ok());
        EXPECT_EQ(*names, want);
        EXPECT_EQ(server.count(XS_DIRECTORY), 1u);
        EXPECT_GT(server.count(XS_DIRECTORY_PART), 5u);
    });
}

TEST_F(xenstore_client_ops, server_errors_map_to_generic_errno) {
    server.intercept = [](const header& h,
                          std::string_view payload) -> std::optional<std::vector<std::uint8_t>> {
        payload_reader r(payload);
        auto p = r.next_string().value_or("");
        if (p == "/eacces") return make_error(h.req_id, h.tx_id, EACCES);
        if (p == "/equota") {  // a name we do not know
            return message_builder(XS_ERROR, h.req_id, h.tx_id).add_string("EQUOTA").finish();
        }
        if (p == "/enospc") return make_error(h.req_id, h.tx_id, ENOSPC);
        return std::nullopt;
    };
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        auto r = co_await c.read("/eacces");
        EXPECT_EQ(r.error(), std::errc::permission_denied);
        EXPECT_EQ(r.error().category(), std::generic_category());
        EXPECT_EQ(r.error().value(), EACCES);
        EXPECT_EQ((co_await c.write("/enospc", "v")).error(), std::errc::no_space_on_device);
        EXPECT_EQ((co_await c.read("/equota")).error(), std::errc::invalid_argument);
        EXPECT_EQ((co_await c.read("//bad")).error(), std::errc::invalid_argument);
        EXPECT_EQ((co_await c.read("/missing")).error().value(), ENOENT);
        // The connection is fine after errors.
        EXPECT_TRUE((co_await c.write("/ok", "1")).ok());
        EXPECT_EQ(c.stats().error_replies, 5u);
    });
}

TEST_F(xenstore_client_ops, oversized_or_malformed_requests_are_refused_locally) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        auto before = server.log.size();
        std::string big(payload_max, 'v');
        EXPECT_EQ((co_await c.write("/p", big)).error(), std::errc::argument_list_too_long);
        EXPECT_EQ((co_await c.read(std::string(payload_max, 'a'))).error(),
                  std::errc::argument_list_too_long);
        EXPECT_EQ((co_await c.read("/a\0b"sv)).error(), std::errc::invalid_argument);
        EXPECT_EQ(server.log.size(), before);  // nothing reached the server
        // The largest legal write goes through.
        std::string fits(payload_max - 3, 'v');
        EXPECT_TRUE((co_await c.write("/p", fits)).ok());
        EXPECT_EQ(*co_await c.read("/p"), fits);
    });
}

TEST_F(xenstore_client_ops, string_views_need_not_outlive_the_call) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        asio::awaitable<result<void>> pending = [&] {
            std::string path = "/scoped";
            std::string value = "kept";
            return c.write(path, value);  // both die here; the request was built
        }();
        EXPECT_TRUE((co_await std::move(pending)).ok());
        EXPECT_EQ(server.nodes["/scoped"], "kept");
    });
}

TEST_F(xenstore_client_ops, pipelined_requests_complete_out_of_order) {
    constexpr int n = 50;
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        for (int i = 0; i < n; ++i) server.nodes[numbered("/k/", i)] = numbered("v", i);

        server.hold = true;
        std::vector<std::optional<result<std::string>>> got(n);
        int finished = 0;
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(
                io,
                [&, i]() -> asio::awaitable<void> {
                    got[i].emplace(co_await c.read(numbered("/k/", i)));
                    ++finished;
                },
                asio::detached);
        }
        // All n are on the wire before any reply: pipelined, not sequential.
        CO_ASSERT(co_await eventually([&] { return server.held_count() == n; }));
        EXPECT_EQ(finished, 0);
        EXPECT_EQ(c.stats().in_flight, static_cast<std::size_t>(n));
        server.hold = false;
        server.release_held(/*reverse=*/true);
        CO_ASSERT(co_await eventually([&] { return finished == n; }));
        for (int i = 0; i < n; ++i) {
            CO_ASSERT(got[i] && got[i]->ok());
            EXPECT_EQ(**got[i], numbered("v", i));
        }
        EXPECT_EQ(c.stats().replies, static_cast<std::uint64_t>(n));
    });
}

TEST_F(xenstore_client_ops, max_in_flight_caps_the_wire_and_queues_the_rest) {
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.max_in_flight = 4;
        client c(io.get_executor(), o);
        CO_ASSERT((co_await c.connect()).ok());
        server.hold = true;
        int finished = 0;
        for (int i = 0; i < 10; ++i) {
            asio::co_spawn(
                io,
                [&, i]() -> asio::awaitable<void> {
                    auto r = co_await c.write(numbered("/q/", i), "v");
                    EXPECT_TRUE(r.ok());
                    ++finished;
                },
                asio::detached);
        }
        CO_ASSERT(co_await eventually([&] { return server.held_count() == 4; }));
        co_await sleep_for(20ms);
        EXPECT_EQ(server.held_count(), 4u);
        EXPECT_EQ(c.stats().queued, 6u);
        while (finished < 10) {
            server.release_held();
            CO_ASSERT(
                co_await eventually([&] { return server.held_count() > 0 || finished == 10; }));
        }
        EXPECT_EQ(server.max_held_seen(), 4u);
        EXPECT_EQ(server.nodes.count("/q/9"), 1u);
    });
}

TEST_F(xenstore_client_ops, queue_full_is_refused_at_once) {
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.max_queued = 2;
        client c(io.get_executor(), o);
        CO_ASSERT((co_await c.connect()).ok());
        std::vector<client::string_pair> three{{"/a", "1"}, {"/b", "2"}, {"/c", "3"}};
        EXPECT_EQ((co_await c.write_many(three)).error(), client_errc::queue_full);
        EXPECT_TRUE((co_await c.write_many(std::span(three).first(2))).ok());
    });
}

TEST_F(xenstore_client_ops, write_many_sends_back_to_back) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        std::vector<std::string> paths, values;
        for (int i = 0; i < 10; ++i) {
            paths.push_back(numbered("/ip/10-0-0-10/80/10-0-0-1/4242/syn/f", i));
            values.push_back(std::to_string(i * 1000));
        }
        std::vector<client::string_pair> writes;
        for (int i = 0; i < 10; ++i) writes.emplace_back(paths[i], values[i]);

        server.hold = true;
        bool done = false;
        result<void> r;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                r = co_await c.write_many(writes);
                done = true;
            },
            asio::detached);
        // All ten requests reached the server before it answered any: one round trip.
        CO_ASSERT(co_await eventually([&] { return server.held_count() == 10; }));
        EXPECT_FALSE(done);
        server.hold = false;
        server.release_held(/*reverse=*/true);
        CO_ASSERT(co_await eventually([&] { return done; }));
        EXPECT_TRUE(r.ok());
        for (int i = 0; i < 10; ++i) EXPECT_EQ(server.nodes[paths[i]], values[i]);
        EXPECT_TRUE((co_await c.write_many({})).ok());  // empty batch
    });
}

TEST_F(xenstore_client_ops, write_many_reports_the_first_error_in_order) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        std::vector<client::string_pair> writes{{"/ok1", "1"}, {"//bad", "2"}, {"/ok2", "3"}};
        EXPECT_EQ((co_await c.write_many(writes)).error(), std::errc::invalid_argument);
        EXPECT_EQ(server.nodes["/ok2"], "3");  // the others were still done
    });
}

TEST_F(xenstore_client_ops, submit_and_read_many) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        CO_ASSERT((co_await c.write("/old/x", "1")).ok());
        std::vector<batch_op> ops{batch_op::write("/n/a", "A"), batch_op::mkdir("/n/dir"),
                                  batch_op::rm("/old"), batch_op::write("/n/b", "B")};
        CO_ASSERT((co_await c.submit(ops)).ok());
        EXPECT_FALSE(server.nodes.contains("/old/x"));
        EXPECT_TRUE(server.nodes.contains("/n/dir"));

        std::vector<std::string_view> paths{"/n/a", "/n/missing", "/n/b"};
        auto got = co_await c.read_many(paths);
        CO_ASSERT(got.ok());
        CO_ASSERT(got->size() == 3u);
        EXPECT_EQ(*(*got)[0], "A");
        EXPECT_EQ((*got)[1].error(), std::errc::no_such_file_or_directory);
        EXPECT_EQ(*(*got)[2], "B");
    });
}

TEST_F(xenstore_client_ops, transaction_isolation_commit_and_abort) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        auto t = co_await c.transaction_start();
        CO_ASSERT(t.ok());
        EXPECT_TRUE(static_cast<bool>(*t));
        CO_ASSERT((co_await c.write("/tx/a", "1", *t)).ok());
        EXPECT_EQ(*co_await c.read("/tx/a", *t), "1");
        EXPECT_EQ((co_await c.read("/tx/a")).error(), std::errc::no_such_file_or_directory);
        auto names = co_await c.directory("/tx", *t);
        CO_ASSERT(names.ok());
        EXPECT_EQ(*names, std::vector<std::string>{"a"});
        CO_ASSERT((co_await c.transaction_end(*t, true)).ok());
        EXPECT_EQ(*co_await c.read("/tx/a"), "1");

        auto t2 = co_await c.transaction_start();
        CO_ASSERT(t2.ok());
        CO_ASSERT((co_await c.write("/tx/b", "2", *t2)).ok());
        CO_ASSERT((co_await c.transaction_end(*t2, false)).ok());
        EXPECT_EQ((co_await c.read("/tx/b")).error(), std::errc::no_such_file_or_directory);
        // Ending it twice: the server no longer knows it.
        EXPECT_EQ((co_await c.transaction_end(*t2, true)).error(),
                  std::errc::no_such_file_or_directory);
        EXPECT_EQ((co_await c.transaction_end(tx_id{}, true)).error(), std::errc::invalid_argument);
        EXPECT_EQ(server.open_transactions(), 0u);
    });
}

TEST_F(xenstore_client_ops, conflicting_commit_gets_eagain) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        auto t = co_await c.transaction_start();
        CO_ASSERT(t.ok());
        CO_ASSERT((co_await c.write("/conf", "tx", *t)).ok());
        CO_ASSERT((co_await c.write("/other", "outside")).ok());  // intervening write
        EXPECT_EQ((co_await c.transaction_end(*t, true)).error(),
                  std::errc::resource_unavailable_try_again);
    });
}

TEST_F(xenstore_client_ops, transact_with_write_many_retries_on_eagain) {
    server.eagain_commits = 2;
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        int attempts = 0;
        auto r = co_await c.transact([&](tx_id tx) -> asio::awaitable<result<void>> {
            ++attempts;
            std::vector<client::string_pair> writes{
                {"/jitsu/vm/u1/state", "booting"},
                {"/jitsu/vm/u1/domid", "7"},
                {"/synjitsu/booting/10-0-0-10", "aa:bb:cc:dd:ee:ff"}};
            co_return co_await c.write_many(writes, tx);
        });
        EXPECT_TRUE(r.ok()) << r.error().message();
        EXPECT_EQ(attempts, 3);
        EXPECT_EQ(server.nodes["/jitsu/vm/u1/state"], "booting");
        EXPECT_EQ(server.nodes["/synjitsu/booting/10-0-0-10"], "aa:bb:cc:dd:ee:ff");
        EXPECT_EQ(server.count(XS_TRANSACTION_START), 3u);
        EXPECT_EQ(server.open_transactions(), 0u);
    });
}

TEST_F(xenstore_client_ops, transact_gives_up_after_max_attempts) {
    server.eagain_commits = 100;
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        int attempts = 0;
        auto r = co_await c.transact(
            [&](tx_id tx) -> asio::awaitable<result<void>> {
                ++attempts;
                co_return co_await c.write("/x", "1", tx);
            },
            3);
        EXPECT_EQ(r.error(), std::errc::resource_unavailable_try_again);
        EXPECT_EQ(attempts, 3);
        EXPECT_FALSE(server.nodes.contains("/x"));
    });
}

TEST_F(xenstore_client_ops, transact_body_error_aborts_without_retry) {
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        int attempts = 0;
        auto r = co_await c.transact([&](tx_id tx) -> asio::awaitable<result<void>> {
            ++attempts;
            if (auto w = co_await c.write("/half", "1", tx); !w) co_return w;
            auto v = co_await c.read("/does/not/exist", tx);
            if (!v) co_return v.error();
            co_return result<void>{};
        });
        EXPECT_EQ(r.error(), std::errc::no_such_file_or_directory);
        EXPECT_EQ(attempts, 1);
        EXPECT_FALSE(server.nodes.contains("/half"));  // aborted
        EXPECT_EQ(server.open_transactions(), 0u);
    });
}

TEST_F(xenstore_client_ops, transaction_slots_wait_for_a_free_one) {
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.max_transactions = 2;
        client c(io.get_executor(), o);
        CO_ASSERT((co_await c.connect()).ok());
        auto t1 = co_await c.transaction_start();
        auto t2 = co_await c.transaction_start();
        CO_ASSERT(t1.ok() && t2.ok());
        std::optional<result<tx_id>> t3, t4;
        asio::co_spawn(
            io, [&]() -> asio::awaitable<void> { t3.emplace(co_await c.transaction_start()); },
            asio::detached);
        co_await sleep_for(20ms);
        EXPECT_FALSE(t3.has_value());  // waiting, not sent
        EXPECT_EQ(server.count(XS_TRANSACTION_START), 2u);

        CO_ASSERT((co_await c.transaction_end(*t1, false)).ok());
        CO_ASSERT(co_await eventually([&] { return t3.has_value(); }));
        CO_ASSERT(t3->ok());
        // Ending a transaction twice does not free a second slot.
        EXPECT_FALSE((co_await c.transaction_end(*t1, false)).ok());
        asio::co_spawn(
            io, [&]() -> asio::awaitable<void> { t4.emplace(co_await c.transaction_start()); },
            asio::detached);
        co_await sleep_for(20ms);
        EXPECT_FALSE(t4.has_value());
        // A commit that fails with EAGAIN ends the transaction too: its slot is free.
        server.eagain_commits = 1;
        EXPECT_EQ((co_await c.transaction_end(*t2, true)).error(),
                  std::errc::resource_unavailable_try_again);
        CO_ASSERT(co_await eventually([&] { return t4.has_value(); }));
        CO_ASSERT(t4->ok());
        CO_ASSERT((co_await c.transaction_end(**t3, true)).ok());
        CO_ASSERT((co_await c.transaction_end(**t4, false)).ok());
        EXPECT_EQ(server.max_open_transactions_seen(), 2u);
    });
}

TEST_F(xenstore_client_ops, concurrent_transacts_share_the_slots) {
    run([&]() -> asio::awaitable<void> {
        auto o = options();
        o.max_transactions = 3;
        client c(io.get_executor(), o);
        CO_ASSERT((co_await c.connect()).ok());
        constexpr int n = 20;
        int ok = 0, failed = 0;
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(
                io,
                [&, i]() -> asio::awaitable<void> {
                    auto path = numbered("/many/", i);
                    auto r = co_await c.transact(
                        [&](tx_id tx) -> asio::awaitable<result<void>> {
                            co_return co_await c.write(path, "v", tx);
                        },
                        100);
                    ++(r ? ok : failed);
                },
                asio::detached);
        }
        CO_ASSERT(co_await eventually([&] { return ok + failed == n; }));
        EXPECT_EQ(ok, n);
        EXPECT_LE(server.max_open_transactions_seen(), 3u);
        EXPECT_EQ(server.open_transactions(), 0u);
        EXPECT_EQ(server.nodes.count(numbered("/many/", n - 1)), 1u);
    });
}

}  // namespace
}  // namespace jitsu::xenstore::testing
