#pragma once
// tcp_prober: host replay's probes (host_replay.h) as real TCP connections from
// synjitsu's own network namespace, non-blocking on the Asio loop. Each probe:
//   1. the source address the kernel would use towards the VM (a connected UDP socket's
//      local address: a route lookup, no packet sent),
//   2. a TCP socket bound to that address and an ephemeral port: the 4-tuple is known
//      here, before connect(), so the probe's SYN is excluded from the queue exactly,
//   3. a non-blocking connect; its completion is the outcome (handshake done = accepted,
//      ECONNREFUSED = refused, anything else = failed). An accepted connection is closed
//      at once (FIN): the service sees a client that connected and left.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <unordered_map>

#include "synjitsu/host_replay.h"

namespace jitsu::synjitsu {

class tcp_prober final : public prober {
  public:
    using result_fn = std::function<void(probe_id, probe_outcome, std::error_code)>;
    using prepare_fn = std::function<void(const ip_address&, const mac_address&)>;

    // `on_result` runs on the loop for every probe not cancelled; `prepare` is what
    // prober::prepare does (live: a neighbour-cache hint, netlink.h).
    tcp_prober(boost::asio::io_context& io, result_fn on_result, prepare_fn prepare);
    tcp_prober(const tcp_prober&) = delete;
    tcp_prober& operator=(const tcp_prober&) = delete;
    ~tcp_prober() override;

    std::optional<four_tuple> start(probe_id id, const ip_address& ip, std::uint16_t port,
                                    std::error_code& ec) override;
    void cancel(probe_id id) override;
    void prepare(const ip_address& ip, const mac_address& mac) override {
        if (prepare_) prepare_(ip, mac);
    }
    // Closes every probe (shutdown).
    void cancel_all();
    std::size_t open() const { return sockets_.size(); }

  private:
    boost::asio::io_context& io_;
    result_fn on_result_;
    prepare_fn prepare_;
    std::unordered_map<probe_id, std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;
    // Completions still queued on the loop after the prober is gone see it expired.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace jitsu::synjitsu
