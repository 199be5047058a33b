#pragma once
// Whole-frame builders: Ethernet + IPv4/IPv6 + TCP/UDP/ICMPv6, checksums included,
// written into the caller's buffer. Each returns the frame length, or 0 if the buffer is
// too small or the fields are inconsistent (mixed address families, options over 40
// bytes). ARP frames are built by arp.h. No minimum-size padding is added.

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/ip_address.h"
#include "common/packet/ethernet.h"
#include "common/packet/icmpv6.h"
#include "common/packet/tcp.h"
#include "common/packet/udp.h"

namespace jitsu::packet {

// The IP header of a built frame; the family is that of src (dst must match).
struct ip_header_fields {
    ip_address src{};
    ip_address dst{};
    std::uint8_t ttl = 64;  // IPv6 hop limit
    std::uint8_t tos = 0;   // IPv6 traffic class
    std::uint16_t ipv4_identification = 0;
    bool ipv4_dont_fragment = false;
    std::uint32_t ipv6_flow_label = 0;
};

std::size_t build_tcp_frame(std::span<std::uint8_t> out, const ethernet_fields& eth,
                            const ip_header_fields& ip, const tcp_fields& tcp,
                            std::span<const tcp_option> options,
                            std::span<const std::uint8_t> payload = {});

std::size_t build_udp_frame(std::span<std::uint8_t> out, const ethernet_fields& eth,
                            const ip_header_fields& ip, const udp_fields& udp,
                            std::span<const std::uint8_t> payload);

// Neighbour Discovery frames, always with hop limit 255 (RFC 4861 §7.1 drops anything
// else). A solicitation normally goes to target.solicited_node_multicast() and its
// multicast_mac(); an advertisement answers the solicitor's address and MAC, or goes to
// ff02::1 / 33:33:00:00:00:01 when unsolicited.
std::size_t build_neighbor_solicitation_frame(std::span<std::uint8_t> out,
                                              const ethernet_fields& eth, const ipv6_address& src,
                                              const ipv6_address& dst,
                                              const neighbor_solicitation_fields& ns);
std::size_t build_neighbor_advertisement_frame(std::span<std::uint8_t> out,
                                               const ethernet_fields& eth, const ipv6_address& src,
                                               const ipv6_address& dst,
                                               const neighbor_advertisement_fields& na);

}  // namespace jitsu::packet
