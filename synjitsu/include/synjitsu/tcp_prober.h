#pragma once
// tcp_prober: host replay's probes (host_replay.h) as half-open TCP handshakes from
// synjitsu's own network namespace, non-blocking on the Asio loop. Each probe:
//   1. the source address the kernel would use towards the VM (a connected UDP socket's
//      local address: a route lookup, no packet sent),
//   2. a source port reserved by a TCP socket bound to that address and port 0 (bound,
//      never listening nor connected: no other socket of the host gets the port, and the
//      host's TCP has no socket to deliver the VM's answer to): the 4-tuple is known here,
//      before the SYN leaves, so the probe's SYN is excluded from the queue exactly,
//   3. one SYN (MSS option, a random ISN) sent on a raw IPPROTO_TCP socket (the kernel
//      builds the IP header; IP_PKTINFO/IPV6_PKTINFO pin the source address the checksum
//      was computed with),
//   4. the answer read from that raw socket: a SYN-ACK acknowledging ISN+1 = accepted,
//      a RST acknowledging it = refused. The host's kernel answers the VM's SYN-ACK with
//      a RST (no socket owns the 4-tuple), which drops the VM's half-open connection.
// Why half-open: with a full handshake the VM's service accepted every probe connection
// right when the replayed SYNs arrived (busybox httpd forks a child per connection; a
// TCG guest took tens of ms for that before it answered the client). Now the service
// never sees a probe: its listener only ever holds the half-open entry until the RST.
//
// Answers are read on the loop into a fixed buffer (no allocation per packet); a socket
// filter passes only segments with SYN+ACK or RST to the raw sockets. Needs CAP_NET_RAW
// (synjitsu has it: it captures and injects with pcap); without it start() fails with
// EPERM, which host_replay reports. An answer that matches no probe (a cancelled one's,
// or another connection's RST) is counted in stats().unmatched and dropped. No
// retransmission: host_replay starts a new attempt every interval anyway.

#include <array>
#include <boost/asio/basic_raw_socket.hpp>
#include <boost/asio/generic/raw_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "synjitsu/host_replay.h"
#include "synjitsu/isn.h"

namespace jitsu::synjitsu {

class tcp_prober final : public prober {
  public:
    using result_fn = std::function<void(probe_id, probe_outcome, std::error_code)>;
    using prepare_fn = std::function<void(const ip_address&, const mac_address&)>;

    struct statistics {
        std::uint64_t syns_sent = 0;
        std::uint64_t answers = 0;    // SYN-ACKs and RSTs that matched a probe
        std::uint64_t unmatched = 0;  // passed the filter, matched no probe: dropped
        std::uint64_t malformed = 0;  // too short or not parseable: dropped
    };

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
    // Closes every probe and the raw sockets (shutdown).
    void cancel_all();
    std::size_t open() const { return probes_.size(); }
    const statistics& stats() const { return stats_; }

  private:
    using raw_socket = boost::asio::basic_raw_socket<boost::asio::generic::raw_protocol>;

    struct probe {
        ip_address vm{};
        std::uint16_t vm_port = 0;
        std::uint16_t source_port = 0;
        std::uint32_t isn = 0;
        // Holds the source port (see the header comment).
        std::unique_ptr<boost::asio::ip::tcp::socket> reservation;
    };
    // One raw socket per address family, opened at the first probe of that family.
    struct channel {
        std::optional<raw_socket> socket{};
        bool reading = false;
        std::uint64_t generation = 0;  // bumped at each close
    };

    channel& channel_for(const ip_address& ip) { return ip.is_v4() ? v4_ : v6_; }
    std::error_code open_channel(channel& c, bool v4);
    enum class drained : std::uint8_t { empty, more, gone };
    // Waits for answers on `c`; on_readable reads them (drain) and waits again.
    void read(channel& c, bool v4);
    void on_readable(channel& c, bool v4);
    // Reads what the socket holds, at most max_reads_per_wake segments: empty (read
    // until EAGAIN), more (stopped at the cap) or gone (a result handler destroyed us).
    drained drain(channel& c, bool v4);
    // A SYN-ACK or RST from vm:vm_port to source_port, acknowledging `ack`.
    void answer(const ip_address& vm, std::uint16_t vm_port, std::uint16_t source_port,
                std::uint32_t ack, bool syn_ack);

    boost::asio::io_context& io_;
    result_fn on_result_;
    prepare_fn prepare_;
    isn_key isn_key_;
    std::unordered_map<probe_id, probe> probes_;
    channel v4_, v6_;
    statistics stats_{};
    // Fixed receive buffer: the filter passes at most this much of each segment.
    std::array<std::uint8_t, 128> buffer_{};
    // Completions still queued on the loop after the prober is gone see it expired.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace jitsu::synjitsu
