#pragma once
// The DNS server: UDP and TCP on one Boost.Asio io_context, answering from an
// authority_config, asking a vm_gate before answering VM names, and forwarding names
// outside its zones to an upstream resolver.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "jitsu_dns/authority.h"
#include "jitsu_dns/forward_acl.h"
#include "jitsu_dns/vm_gate.h"

namespace jitsu::dns {

struct server_options {
    // -b (repeatable): every address gets a UDP socket and a TCP listener, all on one
    // port. UDP answers leave from the address the query was sent to (IP_PKTINFO /
    // IPV6_PKTINFO), so wildcards answer right on hosts with several addresses. `::` takes
    // IPv4 too (v4-mapped) unless an IPv4 address is also listed; a specific address
    // beside the wildcard of its family is refused (the wildcard already covers it).
    std::vector<boost::asio::ip::address> bind{boost::asio::ip::address_v4::any()};
    std::uint16_t port = 53;  // -l (0: pick one, the same for every address)
    // -f/-p; nullopt (forwarder 0.0.0.0): names outside the zones get REFUSED.
    std::optional<boost::asio::ip::udp::endpoint> forwarder;
    // Clients whose names outside the zones are forwarded; others get REFUSED (counted
    // as forward_refused). The library's default is loopback only; the daemon's is
    // loopback and its interfaces' networks, or --allow-forward.
    forward_acl forward_clients{{*ip_prefix::parse("127.0.0.0/8"), *ip_prefix::parse("::1/128")}};
    std::chrono::milliseconds forward_timeout{2000};
    std::size_t max_forward_pending = 4096;  // beyond: SERVFAIL, counted
    std::size_t max_waiting = 4096;          // queries held by vm_gate::wait; beyond: SERVFAIL
    // TCP connections in all. When full, a newcomer closes the longest-idle connection
    // that is owed no answer, taken from the client holding the most (counted as
    // tcp_evicted); only if every connection is owed answers is the newcomer closed
    // (tcp_rejected). So a client holding idle connections cannot lock others out.
    std::size_t max_tcp_connections = 256;
    // TCP connections one client may hold (an IPv4 address, or an IPv6 /64: one host's
    // share); beyond: the newcomer is closed at once (tcp_rejected_per_client).
    std::size_t max_tcp_per_client = 16;
    // A connection with nothing read or written for this long, and no answer being
    // prepared for it, is closed (RFC 7766 §6.2.3; counted as tcp_idle_closed).
    std::chrono::milliseconds tcp_idle_timeout{10000};
    // Our EDNS payload size and UDP answer ceiling (--max-udp); 512 without EDNS.
    std::uint16_t max_udp = 1232;
    // Largest TCP query accepted; a longer length prefix closes the connection (counted).
    std::size_t max_tcp_query = 4096;
    // Deferred answers (gate waits, forwards) one TCP connection may have outstanding;
    // beyond: SERVFAIL at once.
    std::size_t max_tcp_pending_per_connection = 64;
};

struct server_stats {
    std::uint64_t queries_udp = 0, queries_tcp = 0;
    std::uint64_t answered = 0, nxdomain = 0, refused = 0, formerr = 0, notimp = 0, servfail = 0,
                  truncated = 0, dropped = 0;
    std::uint64_t forwarded = 0, forward_timeouts = 0, forward_overflow = 0;
    std::uint64_t forward_refused = 0;  // clients outside forward_clients
    std::uint64_t waited = 0, wait_overflow = 0;
    // Added: TCP connections closed at once (table full and every connection owed
    // answers), or for an oversize or empty length prefix; upstream replies ignored (wrong source,
    // unknown id, question mismatch); forwarded TCP queries retried over TCP after TC=1 from
    // upstream.
    std::uint64_t tcp_rejected = 0, tcp_bad_length = 0;
    // TCP connections refused over max_tcp_per_client, closed to make room for a newcomer,
    // closed for idleness.
    std::uint64_t tcp_rejected_per_client = 0, tcp_evicted = 0, tcp_idle_closed = 0;
    // accept() failures (e.g. out of file descriptors): accepting pauses briefly.
    std::uint64_t tcp_accept_errors = 0;
    std::uint64_t forward_replies_ignored = 0, forward_tcp_retries = 0, forward_answered = 0;
};

class server_impl;

class server {
  public:
    // Throws std::runtime_error with a one-line message if the sockets cannot be bound.
    server(boost::asio::io_context& io, server_options options, authority_config authority,
           vm_gate* gate);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    void start();  // begins receiving on UDP and accepting on TCP
    void stop();   // closes the sockets; pending forwards and waits are dropped

    // The port of every socket (useful with port 0).
    std::uint16_t udp_port() const;
    std::uint16_t tcp_port() const;
    const server_stats& stats() const;

  private:
    std::unique_ptr<server_impl> impl_;
};

}  // namespace jitsu::dns
