#pragma once
// Internal: the address a UDP query arrived at, so its answer leaves from that address.
//
// A socket bound to a wildcard (0.0.0.0, ::) sends from whatever address routing picks
// for the client — the interface's primary one — and a client that asked a second
// address drops the answer as coming from a stranger. So every UDP socket asks for the
// query's destination (IP_PKTINFO, IPV6_RECVPKTINFO) and every answer names it as its
// source (IP_PKTINFO, IPV6_PKTINFO) in a control message. An IPv4 query on a dual-stack
// IPv6 socket arrives with a v4-mapped IPV6_PKTINFO, which Linux accepts back on send.
//
// Fixed-size, no allocation: the control buffers live in the UDP batch and in each
// deferred client.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace jitsu::dns::detail {

struct reply_source {
    enum class kind : std::uint8_t { none, v4, v6 };
    kind family = kind::none;  // none: let the kernel choose (no control message)
    std::uint32_t ifindex = 0;
    std::array<std::uint8_t, 16> address{};  // v4: the first 4
};

// Room for one IP_PKTINFO or IPV6_PKTINFO control message, aligned for cmsghdr.
inline constexpr std::size_t reply_control_space = CMSG_SPACE(sizeof(in6_pktinfo));
struct alignas(cmsghdr) reply_control {
    std::array<std::uint8_t, reply_control_space> bytes{};
};

// Asks the kernel to report each datagram's destination address on `fd` (an AF_INET or
// AF_INET6 socket). Returns false (errno set) if the option is refused.
bool enable_destination_info(int fd, bool v6);

// The destination of a datagram received with `h` (msg_control set up with a
// reply_control); family none if the kernel gave none.
reply_source destination_of(const msghdr& h);

// Points `h`'s msg_control at `buffer`, filled with a control message that makes the
// datagram leave from `source` (or no control message for family none).
void set_reply_source(msghdr& h, const reply_source& source, reply_control& buffer);

}  // namespace jitsu::dns::detail
