#pragma once
// Internal: the server's open TCP connections, counted per client, and the choice of
// which one to close when a newcomer finds the table full.
//
// A client is an IPv4 address or an IPv6 /64 (one host usually holds a whole /64, so
// counting single IPv6 addresses would let it take any number of places). Holding idle
// connections must not lock others out (RFC 7766 §6.2.3 lets a server close them): the
// connection given up is one owed no answer, from the client holding the most, the
// longest idle among those.

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace jitsu::dns::detail {

class tcp_connection;

using client_key = std::array<std::uint8_t, 16>;

// IPv4 (also v4-mapped IPv6) as v4-mapped; IPv6 cut to its /64.
client_key client_key_of(const boost::asio::ip::address& peer);

class tcp_table {
  public:
    std::size_t size() const { return connections_.size(); }
    std::size_t held_by(const client_key& client) const;

    void add(tcp_connection* c);
    void remove(tcp_connection* c);  // no-op if absent (close and destruction both call it)

    // The connection to close to make room, or nullptr when every one is owed answers.
    tcp_connection* victim() const;

    std::vector<tcp_connection*> all() const { return {connections_.begin(), connections_.end()}; }

  private:
    struct key_hash {
        std::size_t operator()(const client_key& k) const noexcept;
    };
    std::unordered_set<tcp_connection*> connections_;
    std::unordered_map<client_key, std::size_t, key_hash> per_client_;
};

}  // namespace jitsu::dns::detail
