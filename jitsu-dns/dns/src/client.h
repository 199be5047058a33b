#pragma once
// Internal: who a deferred answer goes back to — a UDP source address (with the socket
// and local address the query came in on), or a TCP connection (weak: the connection
// may close before the answer is ready).

#include <sys/socket.h>

#include <cstddef>
#include <cstring>
#include <memory>

#include "jitsu_dns/responder.h"
#include "reply_source.h"

namespace jitsu::dns::detail {

class tcp_connection;

// Borrowed view for the immediate path (no copies, no reference counting per query).
struct client_ref {
    transport via = transport::udp;
    const sockaddr* addr = nullptr;  // UDP
    socklen_t addr_len = 0;
    const reply_source* local = nullptr;  // UDP: the address the query was sent to
    std::size_t socket = 0;               // UDP: which of the server's sockets
    tcp_connection* conn = nullptr;       // TCP
};

// Owned copy kept by a waiting query or a pending forward.
struct client {
    transport via = transport::udp;
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    reply_source local;
    std::size_t socket = 0;
    std::weak_ptr<tcp_connection> conn;
};

}  // namespace jitsu::dns::detail
