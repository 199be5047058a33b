#pragma once
// parse_frame: every layer of a captured Ethernet frame that parses, in one pass, without
// allocating. This is the classifier's entry point for each frame off the wire.
//
// Views (here and in the protocol headers) borrow the caller's bytes: they hold spans,
// not copies, so the buffer must outlive them. Never parse a temporary and keep the view.

#include <cstdint>
#include <optional>
#include <span>

#include "common/ip_address.h"
#include "common/packet/arp.h"
#include "common/packet/ethernet.h"
#include "common/packet/icmpv6.h"
#include "common/packet/ipv4.h"
#include "common/packet/ipv6.h"
#include "common/packet/tcp.h"
#include "common/packet/udp.h"

namespace jitsu::packet {

// Layers stop at the first one that does not parse: an IPv4 packet with a truncated TCP
// header has ipv4 but no tcp. At most one of arp/ipv4/ipv6 and one of tcp/udp/icmpv6 is
// set; ndp only with icmpv6. Fragments after the first have no upper layer.
struct parsed_frame {
    ethernet_view ethernet;
    std::optional<arp_view> arp{};
    std::optional<ipv4_view> ipv4{};
    std::optional<ipv6_view> ipv6{};
    std::optional<tcp_view> tcp{};
    std::optional<udp_view> udp{};
    std::optional<icmpv6_view> icmpv6{};
    std::optional<ndp_view> ndp{};

    // The IP layer's addresses, when there is one.
    std::optional<ip_address> src_ip() const;
    std::optional<ip_address> dst_ip() const;
};

// nullopt only if there is not even an Ethernet header.
std::optional<parsed_frame> parse_frame(std::span<const std::uint8_t> frame);

}  // namespace jitsu::packet
