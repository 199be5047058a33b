#pragma once
// Internal: the server's state on its one event loop. Each listen address has a UDP
// socket and a TCP acceptor. UDP is read in batches (recvmmsg/sendmmsg on the
// non-blocking socket when Asio reports it readable; one batch buffer serves every
// socket, as the loop reads one at a time); TCP connections, gate waits and forwards
// hand their answers back through deliver().

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <span>
#include <vector>

#include "client.h"
#include "jitsu_dns/compiled_authority.h"
#include "jitsu_dns/server.h"
#include "reply_source.h"
#include "slot_pool.h"
#include "tcp_table.h"
#include "udp_batch.h"

namespace jitsu::dns {

class forwarder;

class server_impl {
  public:
    server_impl(boost::asio::io_context& io, server_options options,
                const authority_config& authority, vm_gate* gate);
    ~server_impl();

    void start();
    void stop();

    // A query from either transport. Writes an immediate answer into `out` and returns
    // its size, or returns 0: dropped, or deferred (gate wait, forward) — the answer then
    // comes through deliver().
    std::size_t handle(std::span<const std::uint8_t> message, const detail::client_ref& from,
                       std::span<std::uint8_t> out);
    // Sends a deferred answer (copied) to its client; silently dropped if a TCP client has
    // gone or a UDP send would block (counted).
    void deliver(const detail::client& to, std::span<const std::uint8_t> answer);
    // Counts an answer by its rcode (stats).
    void count_answer(std::uint16_t rcode, bool truncated);
    // Writes SERVFAIL for `q` into the scratch buffer and delivers it.
    void deliver_servfail(const detail::client& to, const query& q);
    static detail::client own(const detail::client_ref& from);

    boost::asio::io_context& io() { return io_; }
    const server_options& options() const { return options_; }
    const compiled_authority& authority() const { return authority_; }
    server_stats& stats() { return stats_; }
    const server_stats& stats() const { return stats_; }
    bool stopped() const { return stopped_; }
    // Shared with every handler and coroutine: false once the server is gone, so a late
    // completion never touches a destroyed server.
    const std::shared_ptr<bool>& alive() const { return alive_; }

    std::uint16_t udp_port() const { return udp_port_; }
    std::uint16_t tcp_port() const { return tcp_port_; }

    // TCP connection bookkeeping (limits, stop()); called on close and on destruction.
    void connection_closed(detail::tcp_connection* c) { connections_.remove(c); }

  private:
    void check_bind_list() const;
    void bind_sockets();
    bool try_bind(std::uint16_t port, boost::system::error_code& ec, std::string& failed);
    void arm_udp(std::size_t socket);
    void on_udp_readable(std::size_t socket);
    void accept_next(std::size_t acceptor);
    void admit(boost::asio::ip::tcp::socket s);
    std::size_t answer_vm(const query& q, const answer_plan& plan, const detail::client_ref& from,
                          std::span<std::uint8_t> out);
    void wait_done(detail::slot_id id, bool ok);

    struct waiting {
        query q;
        answer_plan plan;
        detail::client to;
    };

    boost::asio::io_context& io_;
    server_options options_;
    compiled_authority authority_;
    vm_gate* gate_;
    server_stats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool stopped_ = false;

    std::vector<boost::asio::ip::udp::socket> udp_;          // one per listen address
    std::vector<boost::asio::ip::tcp::acceptor> acceptors_;  // likewise
    // Per acceptor: a pause after an accept error (EMFILE), so it does not spin.
    std::vector<boost::asio::steady_timer> accept_pause_;
    std::uint16_t udp_port_ = 0, tcp_port_ = 0;
    std::unique_ptr<detail::udp_batch> batch_;
    detail::tcp_table connections_;
    detail::reply_control deliver_control_;  // deferred UDP answers' source address
    detail::slot_pool<waiting> waits_;
    std::unique_ptr<forwarder> forwarder_;

    query scratch_query_;  // the query being handled (one event loop: one at a time)
    std::vector<std::uint8_t> scratch_out_;  // deferred answers are written here
};

}  // namespace jitsu::dns
