// The client against the real jitsu-xenstored binary (built in the same tree): each
// test starts its own daemon on a fresh socket and stops it afterwards.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"
#include "xenstore/blocking_client.h"
#include "xenstored_process.h"

extern char** environ;

namespace jitsu::xenstore::testing {
namespace {

using event = std::pair<std::string, std::string>;

using daemon_process = jitsu::test::xenstored_process;

class xenstore_client_xenstored : public ::testing::Test {
  protected:
    xenstore_client_xenstored() : path_(temp_socket_path()), daemon_(path_) {}

    client_options options() const {
        client_options o;
        o.socket_path = path_;
        o.reconnect_initial = 10ms;
        o.reconnect_max = 50ms;
        o.request_timeout = 5000ms;
        return o;
    }

    // Drives a coroutine body on `io` with a hard time limit.
    void run(asio::io_context& io, std::function<asio::awaitable<void>()> body,
             std::chrono::milliseconds limit = 10000ms) {
        auto keep = std::make_shared<std::function<asio::awaitable<void>()>>(std::move(body));
        bodies_.push_back(keep);
        auto done = std::make_shared<bool>(false);
        auto error = std::make_shared<std::exception_ptr>();
        asio::co_spawn(io, (*keep)(), [done, error](std::exception_ptr e) {
            *done = true;
            *error = e;
        });
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (!*done && std::chrono::steady_clock::now() < deadline) {
            if (io.stopped()) io.restart();
            io.run_one_until(deadline);
        }
        ASSERT_TRUE(*done) << "test body did not finish in time";
        if (*error) std::rethrow_exception(*error);
    }

    std::string path_;
    daemon_process daemon_;
    std::vector<std::shared_ptr<std::function<asio::awaitable<void>()>>> bodies_;
};

TEST_F(xenstore_client_xenstored, blocking_basics) {
    ASSERT_TRUE(daemon_.running());
    blocking_client c(options());
    ASSERT_TRUE(c.connect().ok());
    ASSERT_TRUE(c.write("/jitsu/vm/u1/state", "booting").ok());
    EXPECT_EQ(c.read("/jitsu/vm/u1/state").value(), "booting");
    EXPECT_EQ(c.read("/jitsu/vm/none").error(), std::errc::no_such_file_or_directory);
    ASSERT_TRUE(c.mkdir("/jitsu/vm/u1/config").ok());
    auto names = c.directory("/jitsu/vm/u1");
    ASSERT_TRUE(names.ok());
    std::sort(names->begin(), names->end());  // xenstored lists in creation order
    EXPECT_EQ(*names, (std::vector<std::string>{"config", "state"}));
    EXPECT_EQ(c.get_domain_path(7).value(), "/local/domain/7");

    std::vector<permission> perms{{access::none, 0}, {access::read, 5}};
    ASSERT_TRUE(c.set_perms("/jitsu/vm/u1/state", perms).ok());
    EXPECT_EQ(c.get_perms("/jitsu/vm/u1/state").value(), perms);

    // Relative paths resolve under /local/domain/0 for a socket connection.
    ASSERT_TRUE(c.write("data/status", "ready").ok());
    EXPECT_EQ(c.read("/local/domain/0/data/status").value(), "ready");

    ASSERT_TRUE(c.rm("/jitsu").ok());
    EXPECT_EQ(c.read("/jitsu/vm/u1/state").error(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(c.write("//bad", "x").error(), std::errc::invalid_argument);
}

TEST_F(xenstore_client_xenstored, synjitsu_shaped_transaction_with_write_many) {
    ASSERT_TRUE(daemon_.running());
    asio::io_context io;
    run(io, [&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        const std::string base = "/ip/10-0-0-10/80/10-0-0-1/40000/syn/";
        std::vector<std::string> keys{
            "tx_wnd", "sequence", "options", "tx_isn", "rx_wnd", "rx_wnd_scaleoffer",
            "frame",  "mac",      "time",    "count"};
        std::vector<std::string> paths;
        for (const auto& k : keys) paths.push_back(base + k);
        auto r = co_await c.transact([&](tx_id tx) -> asio::awaitable<result<void>> {
            std::vector<client::string_pair> writes;
            for (const auto& p : paths) writes.emplace_back(p, "42");
            co_return co_await c.write_many(writes, tx);
        });
        CO_ASSERT(r.ok());
        std::vector<std::string_view> views(paths.begin(), paths.end());
        auto got = co_await c.read_many(views);
        CO_ASSERT(got.ok());
        for (auto& v : *got) EXPECT_EQ(v.value_or("?"), "42");
        auto names = co_await c.directory(base.substr(0, base.size() - 1));
        CO_ASSERT(names.ok());
        EXPECT_EQ(names->size(), keys.size());
    });
}

TEST_F(xenstore_client_xenstored, conflicting_transaction_is_retried) {
    ASSERT_TRUE(daemon_.running());
    asio::io_context io;
    run(io, [&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        client other(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        CO_ASSERT((co_await other.connect()).ok());
        CO_ASSERT((co_await c.write("/counter", "1")).ok());
        int attempts = 0;
        auto r = co_await c.transact([&](tx_id tx) -> asio::awaitable<result<void>> {
            ++attempts;
            auto v = co_await c.read("/counter", tx);
            if (!v) co_return v.error();
            if (attempts == 1) {  // someone else changes what we read
                if (auto w = co_await other.write("/counter", "10"); !w) co_return w;
            }
            co_return co_await c.write("/counter", std::to_string(std::stoi(*v) + 1), tx);
        });
        EXPECT_TRUE(r.ok()) << r.error().message();
        EXPECT_EQ(attempts, 2);
        EXPECT_EQ((co_await c.read("/counter")).value_or("?"), "11");
    });
}

TEST_F(xenstore_client_xenstored, watches_initial_and_change_events) {
    ASSERT_TRUE(daemon_.running());
    asio::io_context io;
    run(io, [&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        std::vector<event> booting, key;
        CO_ASSERT((co_await c.watch(
                       "/synjitsu/booting", "booting",
                       [&](std::string_view p, std::string_view t) { booting.emplace_back(p, t); }))
                      .ok());
        CO_ASSERT((co_await c.watch(
                       "/local/domain/5/data/status", "wait-5",
                       [&](std::string_view p, std::string_view t) { key.emplace_back(p, t); }))
                      .ok());
        CO_ASSERT(co_await eventually([&] { return booting.size() == 1 && key.size() == 1; }));
        EXPECT_EQ(booting[0], (event{"/synjitsu/booting", "booting"}));
        CO_ASSERT((co_await c.write("/synjitsu/booting/10-0-0-10", "aa:bb:cc:dd:ee:ff")).ok());
        CO_ASSERT(co_await eventually([&] { return booting.size() == 2; }));
        EXPECT_EQ(booting[1], (event{"/synjitsu/booting/10-0-0-10", "booting"}));
        CO_ASSERT((co_await c.write("/local/domain/5/data/status", "ready")).ok());
        CO_ASSERT(co_await eventually([&] { return key.size() == 2; }));
        CO_ASSERT((co_await c.unwatch("/synjitsu/booting", "booting")).ok());
        CO_ASSERT((co_await c.rm("/synjitsu/booting/10-0-0-10")).ok());
        co_await sleep_for(30ms);
        EXPECT_EQ(booting.size(), 2u);
    });
}

TEST_F(xenstore_client_xenstored, large_directory) {
    ASSERT_TRUE(daemon_.running());
    asio::io_context io;
    run(io, [&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        // 400 names of 16 bytes: more than one payload (DIRECTORY_PART if E2BIG).
        std::vector<std::string> names, paths;
        for (int i = 0; i < 400; ++i) {
            std::string name("child-");
            name.append(std::to_string(1000000000 + i));
            paths.push_back(std::string("/big/").append(name));
            names.push_back(std::move(name));
        }
        std::vector<client::string_pair> writes;
        for (const auto& p : paths) writes.emplace_back(p, "");
        CO_ASSERT((co_await c.write_many(writes)).ok());
        auto got = co_await c.directory("/big");
        CO_ASSERT(got.ok());
        auto sorted = *got;
        std::sort(sorted.begin(), sorted.end());
        EXPECT_EQ(sorted, names);
    });
}

TEST_F(xenstore_client_xenstored, reconnects_after_daemon_restart) {
    ASSERT_TRUE(daemon_.running());
    asio::io_context io;
    run(io, [&]() -> asio::awaitable<void> {
        client c(io.get_executor(), options());
        CO_ASSERT((co_await c.connect()).ok());
        std::vector<event> events;
        CO_ASSERT((co_await c.watch("/ip", "ip", [&](std::string_view p, std::string_view t) {
                      events.emplace_back(p, t);
                  })).ok());
        CO_ASSERT(co_await eventually([&] { return events.size() == 1; }));
        daemon_.stop();
        CO_ASSERT(co_await eventually([&] { return !c.connected(); }));
        EXPECT_EQ((co_await c.read("/ip")).error(), client_errc::not_connected);
        daemon_.start();
        CO_ASSERT(co_await eventually([&] { return c.connected(); }, 5000ms));
        // The watch was registered again: its initial event arrives.
        CO_ASSERT(co_await eventually([&] { return events.size() == 2; }));
        CO_ASSERT((co_await c.write("/ip/10-0-0-10", "managed")).ok());
        CO_ASSERT(co_await eventually([&] { return events.size() == 3; }));
        EXPECT_EQ(events[2], (event{"/ip/10-0-0-10", "ip"}));
    });
}

}  // namespace
}  // namespace jitsu::xenstore::testing
