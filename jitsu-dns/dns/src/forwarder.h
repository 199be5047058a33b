#pragma once
// Internal: forwarding names outside our zones to one upstream resolver.
//   * a fixed-capacity table of pending forwards (max_forward_pending); beyond: the
//     caller answers SERVFAIL;
//   * each forward gets a fresh unpredictable id, unique among those pending; the reply
//     is accepted only from the upstream's address and port, with a pending id AND the
//     same question; it is relayed with the client's id;
//   * one timeout for all: pending forwards are kept in deadline order (an intrusive
//     list), one timer watches the oldest; a timeout answers SERVFAIL;
//   * a UDP client whose answer exceeds its limit gets TC=1 (it retries over TCP); a TCP
//     client whose upstream answer came back TC=1 is retried once over TCP to the
//     upstream, within the same deadline.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "client.h"
#include "jitsu_dns/query.h"
#include "random_ids.h"
#include "slot_pool.h"

namespace jitsu::dns {

class server_impl;

class forwarder {
  public:
    forwarder(server_impl& server, boost::asio::ip::udp::endpoint upstream);
    ~forwarder();

    void start();
    void stop();  // pending forwards are dropped without an answer

    enum class result { sent, full, failed };
    result forward(std::span<const std::uint8_t> message, const query& q,
                   const detail::client_ref& from);
    std::size_t pending() const { return slots_.in_use(); }

  private:
    static constexpr std::uint32_t none = 0xffffffff;
    struct pending_forward {
        query q;  // the client's query: id, question (to match the reply), EDNS, limits
        detail::client to;
        std::uint16_t upstream_id = 0;
        std::chrono::steady_clock::time_point deadline;
        std::vector<std::uint8_t> message;  // TCP clients: the query, for a TCP retry
        std::shared_ptr<boost::asio::ip::tcp::socket> tcp;  // that retry, while in flight
        std::uint32_t prev = none, next = none;
    };

    void arm_receive();
    void on_readable();
    void accept_reply(std::span<std::uint8_t> reply);
    bool matches(const pending_forward& p, const query& reply) const;
    void relay(std::uint32_t index, std::span<std::uint8_t> reply);
    void finish(std::uint32_t index);
    void arm_timer();
    void on_timer();
    boost::asio::awaitable<void> retry_over_tcp(detail::slot_id id);

    server_impl& server_;
    std::shared_ptr<bool> alive_;
    boost::asio::ip::udp::endpoint upstream_;
    boost::asio::ip::udp::socket socket_;
    boost::asio::steady_timer timer_;
    bool timer_armed_ = false;
    detail::slot_pool<pending_forward> slots_;
    std::vector<std::int32_t> by_id_;          // upstream id → slot index, -1 if free
    std::uint32_t head_ = none, tail_ = none;  // oldest / newest pending
    detail::random_ids ids_;
    std::vector<std::uint8_t> send_buffer_, receive_buffer_;
    query reply_question_;
};

}  // namespace jitsu::dns
