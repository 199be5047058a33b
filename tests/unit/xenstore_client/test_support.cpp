#include "test_support.h"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace jitsu::xenstore::testing {

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<bool> eventually(std::function<bool()> pred, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        co_await sleep_for(1ms);
    }
    co_return true;
}

client_fixture::client_fixture() : path(temp_socket_path()), server(io.get_executor(), path) {
    server.start();
}

client_fixture::~client_fixture() {
    server.stop();
    // Let the closed sockets' handlers run while everything they touch still exists.
    io.restart();
    io.run_for(20ms);
}

client_options client_fixture::options() const {
    client_options o;
    o.socket_path = path;
    o.reconnect_initial = 5ms;
    o.reconnect_max = 20ms;
    o.request_timeout = 5000ms;
    return o;
}

void client_fixture::run(std::function<asio::awaitable<void>()> body,
                         std::chrono::milliseconds limit) {
    bodies_.push_back(std::make_unique<std::function<asio::awaitable<void>()>>(std::move(body)));
    auto done = std::make_shared<bool>(false);
    auto error = std::make_shared<std::exception_ptr>();
    asio::co_spawn(io, (*bodies_.back())(), [done, error](std::exception_ptr e) {
        *done = true;
        *error = e;
    });
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!*done && std::chrono::steady_clock::now() < deadline) {
        if (io.stopped()) io.restart();
        io.run_one_until(deadline);
    }
    ASSERT_TRUE(*done) << "test body did not finish within " << limit.count() << " ms";
    if (*error) std::rethrow_exception(*error);
}

}  // namespace jitsu::xenstore::testing
