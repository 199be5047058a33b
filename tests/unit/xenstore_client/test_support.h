// Shared fixture for the client tests: an io_context, a fake xenstored on a fresh
// socket, and run() which drives a coroutine test body with a hard time limit.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "co_assert.h"
#include "fake_xenstored.h"
#include "xenstore/client.h"
#include "xenstored_process.h"

namespace jitsu::xenstore::testing {

using namespace std::chrono_literals;

// A socket path unique to this process and call (tests/support).
inline std::string temp_socket_path() { return ::jitsu::test::temp_socket_path("xsc"); }

asio::awaitable<void> sleep_for(std::chrono::milliseconds d);

// Polls `pred` every millisecond until it holds or `limit` passes; returns pred().
asio::awaitable<bool> eventually(std::function<bool()> pred,
                                 std::chrono::milliseconds limit = 3000ms);

class client_fixture : public ::testing::Test {
  protected:
    client_fixture();
    ~client_fixture() override;

    // Options pointing at the fake server, with short reconnect delays.
    client_options options() const;

    // Runs `body` on the io_context until it finishes; fails the test if it has not
    // finished within `limit` (the test never hangs).
    void run(std::function<asio::awaitable<void>()> body,
             std::chrono::milliseconds limit = 10000ms);

    asio::io_context io;
    std::string path;
    fake_xenstored server;

  private:
    // Test bodies are lambdas whose captures their coroutines use: keep them alive
    // (and at a fixed address) until the io_context is gone.
    std::vector<std::unique_ptr<std::function<asio::awaitable<void>()>>> bodies_;
};

}  // namespace jitsu::xenstore::testing
