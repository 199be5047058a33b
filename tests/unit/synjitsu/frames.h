#pragma once
// Frames for the synjitsu tests, built with common's builders (never by hand-rolled
// copies of them). Addresses mirror tests/scapy/synjitsu/gen_pcaps.py.

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/packet/tcp_options.h"

namespace jitsu::synjitsu::test {

using bytes = std::vector<std::uint8_t>;

inline const mac_address vm_mac = *mac_address::parse("02:00:00:00:00:10");
inline const mac_address client_mac = *mac_address::parse("02:00:00:00:01:01");
inline const ip_address vm_ip = *ip_address::parse("10.0.0.10");
inline const ip_address client_ip = *ip_address::parse("10.0.0.101");
inline const ip_address vm6_ip = *ip_address::parse("fd00::10");
inline const ip_address client6_ip = *ip_address::parse("fd00::2");
inline const ip_address other_ip = *ip_address::parse("10.0.0.20");

// Linux's usual SYN options: MSS 1460, SACK_ok, Timestamp 123456 0, NOP, WScale 7.
std::vector<packet::tcp_option> linux_syn_options();

struct syn_spec {
    ip_address src = client_ip;
    ip_address dst = vm_ip;
    std::uint16_t sport = 40001;
    std::uint16_t dport = 80;
    std::uint32_t seq = 1111;
    std::uint16_t window = 64240;
    std::uint8_t flags = 0x02;  // SYN
    mac_address src_mac = client_mac;
    mac_address dst_mac = vm_mac;
    std::vector<packet::tcp_option> options = linux_syn_options();
};

bytes tcp_frame(const syn_spec& s);
bytes arp_request(const mac_address& sender_mac, const ip_address& sender_ip,
                  const ip_address& target);
bytes arp_reply_frame(const mac_address& sender_mac, const ip_address& sender_ip,
                      const mac_address& target_mac, const ip_address& target_ip);
bytes gratuitous_arp(const mac_address& mac, const ip_address& ip);
bytes neighbor_solicitation(const mac_address& src_mac, const ip_address& src,
                            const ip_address& target, std::uint8_t hop_limit = 255);
bytes neighbor_advertisement(const mac_address& src_mac, const ip_address& target);
bytes udp_frame(const ip_address& src, const ip_address& dst);

// `frame` with a VLAN tag (TPID, TCI) inserted after the MAC addresses; call twice for
// QinQ (the second call's tag is the outer one).
bytes tagged(bytes frame, std::uint16_t tpid, std::uint16_t tci);
// An IPv6 `frame` (no tag) with one 8-byte extension header inserted before its upper
// layer: hop-by-hop (0, a PadN option), destination options (60, PadN), routing (43, an
// empty type-0 header) or fragment (44, offset 0, M=0: an atomic fragment).
bytes with_ipv6_extension(bytes frame, std::uint8_t type);

}  // namespace jitsu::synjitsu::test
