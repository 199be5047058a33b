// The booter under test: a real jitsu-xenstored (tests/support), the fake backend, specs
// parsed by the real catalog parser, and a stand-in for the DNS server that asks the gate
// the way the server does (on_query, then wait_ready on `wait`).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fake_backend.h"
#include "jitsu_dns/booter.h"
#include "jitsu_dns/catalog.h"
#include "xenstore/blocking_client.h"
#include "xenstored_process.h"

namespace jitsu::dns::test {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

inline double ms_between(clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// One query as the server sees it: the verdict, and when (and how) its answer went out.
// Runs `io` in 2 ms slices until `done()` or `limit`; false on the limit.
inline bool run_io_until(boost::asio::io_context& io, const std::function<bool()>& done,
                         std::chrono::milliseconds limit) {
    const auto deadline = clock::now() + limit;
    while (!done()) {
        if (clock::now() >= deadline) return false;
        if (io.stopped()) io.restart();
        io.run_for(std::chrono::milliseconds(2));
    }
    return true;
}

struct query_record {
    clock::time_point asked;
    std::optional<vm_gate::verdict> verdict;
    std::optional<bool> answered_ok;  // set when the answer may go (true) or SERVFAIL (false)
    clock::time_point answered;
    double latency_ms() const { return ms_between(asked, answered); }
};

struct booter_fixture : ::testing::Test {
    ::jitsu::test::xenstored_process daemon{::jitsu::test::temp_socket_path("dnsboot")};
    boost::asio::io_context io;
    std::unique_ptr<xenstore::client> xs;
    std::unique_ptr<xenstore::blocking_client> inspect;
    fake_backend backend;
    std::vector<vm_spec> catalog;
    booter_options options;
    std::unique_ptr<booter> gate;
    std::vector<std::shared_ptr<query_record>> queries;

    xenstore::client_options xs_options() const {
        xenstore::client_options o;
        o.socket_path = daemon.socket_path();
        o.reconnect = false;
        return o;
    }

    void SetUp() override {
        ASSERT_TRUE(daemon.running()) << "jitsu-xenstored did not start";
        xs = std::make_unique<xenstore::client>(io.get_executor(), xs_options());
        bool done = false;
        std::error_code ec;
        boost::asio::co_spawn(
            io,
            [&]() -> boost::asio::awaitable<void> {
                auto r = co_await xs->connect();
                ec = r.error();
                done = true;
            },
            boost::asio::detached);
        ASSERT_TRUE(run_until([&] { return done; }, 5s));
        ASSERT_FALSE(ec) << ec.message();
        inspect = std::make_unique<xenstore::blocking_client>(xs_options());
        ASSERT_TRUE(inspect->connect().ok());
        options.idle_check = 20ms;
        options.status_poll = 200ms;
        options.last_request_flush = 200ms;
        options.retry_backoff = 300ms;
    }

    void TearDown() override {
        if (gate) shutdown(false);
        gate.reset();
        if (xs) xs->close();
        io.run_for(50ms);
    }

    void add_vm(const std::string& spec) {
        catalog_defaults d;
        d.ttl = 60;
        d.response_delay = 0ms;
        d.wait_timeout = 2000ms;
        catalog.push_back(parse_vm_spec(spec, d));
    }

    // Starts the booter (reconcile + publish); an exception fails the test.
    void start_booter() {
        validate_catalog(catalog);
        gate = std::make_unique<booter>(io.get_executor(), catalog, backend, *xs, options);
        bool done = false;
        std::exception_ptr error;
        boost::asio::co_spawn(io, gate->start(), [&](std::exception_ptr e) {
            error = e;
            done = true;
        });
        // Throws (failing the test) rather than ASSERT, which would only end this helper.
        if (!run_until([&] { return done; }, 10s)) throw std::runtime_error("booter start hangs");
        if (error) std::rethrow_exception(error);
    }

    void shutdown(bool stop_vms) {
        bool done = false;
        boost::asio::co_spawn(io, gate->shutdown(stop_vms),
                              [&](std::exception_ptr) { done = true; });
        run_until([&] { return done; }, 20s);
    }

    // As the server does: ask the gate; on `wait`, hold the answer until released.
    std::shared_ptr<query_record> query(std::size_t vm) {
        auto q = std::make_shared<query_record>();
        q->asked = clock::now();
        q->verdict = gate->on_query(vm);
        if (*q->verdict == vm_gate::verdict::wait) {
            gate->wait_ready(vm, [q](bool ok) {
                q->answered_ok = ok;
                q->answered = clock::now();
            });
        } else {
            q->answered_ok = *q->verdict == vm_gate::verdict::answer_now;
            q->answered = clock::now();
        }
        queries.push_back(q);
        return q;
    }

    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        return run_io_until(io, done, limit);
    }
    void run_for(std::chrono::milliseconds d) {
        run_until([] { return false; }, d);
    }

    std::string tree(std::size_t vm, const std::string& rel) {
        auto r = inspect->read("/jitsu/vm/" + catalog.at(vm).uuid + "/" + rel);
        return r.ok() ? *r : std::string("<absent>");
    }
    std::string xs_read(const std::string& path) {
        auto r = inspect->read(path);
        return r.ok() ? *r : std::string("<absent>");
    }
    // Runs the booter's loop until the tree node reads `value`.
    bool tree_becomes(std::size_t vm, const std::string& rel, const std::string& value,
                      std::chrono::milliseconds limit = 3s) {
        return run_until([&] { return tree(vm, rel) == value; }, limit);
    }
};

// Test names start with the suite's name (`ctest -R jitsu_dns_booter`).
using jitsu_dns_booter = booter_fixture;

}  // namespace jitsu::dns::test
