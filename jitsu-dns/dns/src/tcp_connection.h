#pragma once
// Internal: one DNS-over-TCP client (RFC 7766): 2-octet length framing, pipelined
// queries answered as they complete (possibly out of order), an idle timeout, a bounded
// query size and a bounded number of deferred answers.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "tcp_table.h"

namespace jitsu::dns {
class server_impl;
}

namespace jitsu::dns::detail {

class tcp_connection : public std::enable_shared_from_this<tcp_connection> {
  public:
    tcp_connection(server_impl& server, boost::asio::ip::tcp::socket socket,
                   const boost::asio::ip::address& peer);
    ~tcp_connection();

    void start();
    // Closes the socket and leaves the server's table at once (the object lives on until
    // its coroutines finish).
    void close();

    // Queues a framed copy of `answer` (gate waits and forwards call this later).
    void send(std::span<const std::uint8_t> answer);
    // Deferred answers outstanding on this connection (bounded per connection).
    bool may_defer() const;
    void deferred() { ++deferred_; }
    // The client's address (for who may have names forwarded).
    const boost::asio::ip::address& peer() const { return peer_; }
    void deferred_done() {
        if (deferred_ > 0) --deferred_;
    }
    // For the table: who holds it, whether answers are still being prepared for it (a
    // gate wait, a forward), and when it last read or wrote a whole message.
    const client_key& client() const { return client_; }
    bool owed_answers() const { return deferred_ > 0; }
    std::chrono::steady_clock::time_point last_active() const { return last_active_; }

  private:
    boost::asio::awaitable<void> reader();
    boost::asio::awaitable<void> writer();
    boost::asio::awaitable<void> watchdog();
    void touch();

    server_impl* server_;
    std::shared_ptr<bool> alive_;
    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer idle_;
    boost::asio::steady_timer wake_writer_;
    boost::asio::steady_timer wake_reader_;  // reader paused while too many answers queue
    std::chrono::steady_clock::time_point deadline_, last_active_;
    std::vector<std::uint8_t> in_;
    std::vector<std::uint8_t> out_;
    std::deque<std::vector<std::uint8_t>> queue_;   // framed answers waiting to be written
    std::vector<std::vector<std::uint8_t>> spare_;  // recycled frame buffers
    std::size_t deferred_ = 0;
    boost::asio::ip::address peer_;
    client_key client_;
    bool closed_ = false;
};

}  // namespace jitsu::dns::detail
