// The Boost.Asio pieces the client's interface uses, in an order that compiles with
// Boost 1.74 (its awaitable.hpp uses std::exchange without including <utility>).
#pragma once

// clang-format off
#include <utility>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
// clang-format on

namespace jitsu::xenstore {
namespace asio = boost::asio;
}  // namespace jitsu::xenstore
