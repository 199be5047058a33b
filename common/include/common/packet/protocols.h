#pragma once
// Protocol numbers used by the views and builders.

#include <cstdint>

namespace jitsu::packet {

namespace ethertype {
inline constexpr std::uint16_t ipv4 = 0x0800;
inline constexpr std::uint16_t arp = 0x0806;
inline constexpr std::uint16_t vlan = 0x8100;  // IEEE 802.1Q tag
inline constexpr std::uint16_t ipv6 = 0x86dd;
}  // namespace ethertype

// IPv4 "protocol" / IPv6 "next header" values.
namespace ip_protocol {
inline constexpr std::uint8_t hop_by_hop = 0;
inline constexpr std::uint8_t tcp = 6;
inline constexpr std::uint8_t udp = 17;
inline constexpr std::uint8_t routing = 43;
inline constexpr std::uint8_t fragment = 44;
inline constexpr std::uint8_t icmpv6 = 58;
inline constexpr std::uint8_t no_next_header = 59;
inline constexpr std::uint8_t destination_options = 60;
}  // namespace ip_protocol

}  // namespace jitsu::packet
