#pragma once
// ARP for Ethernet/IPv4 only (RFC 826): the 28-byte body after the Ethernet header.
//
//   htype(2)=1 ptype(2)=0x0800 hlen(1)=6 plen(1)=4 op(2)
//   sender MAC(6) sender IP(4) target MAC(6) target IP(4)

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/ipv4_address.h"
#include "common/mac_address.h"
#include "common/packet/ethernet.h"

namespace jitsu::packet {

namespace arp_op {
inline constexpr std::uint16_t request = 1;
inline constexpr std::uint16_t reply = 2;
}  // namespace arp_op

class arp_view {
  public:
    static constexpr std::size_t size = 28;

    // nullopt if short or not Ethernet/IPv4 ARP. Trailing bytes (padding) are ignored.
    static std::optional<arp_view> parse(std::span<const std::uint8_t> body);

    std::uint16_t op() const;
    bool is_request() const { return op() == arp_op::request; }
    bool is_reply() const { return op() == arp_op::reply; }
    mac_address sender_mac() const;
    ipv4_address sender_ip() const;
    mac_address target_mac() const;
    ipv4_address target_ip() const;
    // Sender and target IP equal: an announcement (RFC 5227) or gratuitous ARP.
    bool is_gratuitous() const { return sender_ip() == target_ip(); }

  private:
    explicit arp_view(std::span<const std::uint8_t> body) : body_(body) {}

    std::span<const std::uint8_t> body_;
};

struct arp_fields {
    std::uint16_t op = arp_op::request;
    mac_address sender_mac{};
    ipv4_address sender_ip{};
    mac_address target_mac{};
    ipv4_address target_ip{};
};

// The 28-byte ARP body; returns 28 or 0 if `out` is too small.
std::size_t build_arp(std::span<std::uint8_t> out, const arp_fields& fields);

// Whole frames (Ethernet header + ARP, unpadded: 42 bytes, 46 with a VLAN tag).
std::size_t build_arp_frame(std::span<std::uint8_t> out, const ethernet_fields& eth,
                            const arp_fields& arp);
// "Who has target_ip? Tell sender_ip", broadcast.
std::size_t build_arp_request(std::span<std::uint8_t> out, const mac_address& sender_mac,
                              const ipv4_address& sender_ip, const ipv4_address& target_ip);
// "sender_ip is at sender_mac", unicast to the asker.
std::size_t build_arp_reply(std::span<std::uint8_t> out, const mac_address& sender_mac,
                            const ipv4_address& sender_ip, const mac_address& target_mac,
                            const ipv4_address& target_ip);
// An ARP announcement (RFC 5227 §2.3): a broadcast request with sender IP = target IP =
// `ip` and a zero target MAC, which updates every neighbour's cache for `ip`.
std::size_t build_gratuitous_arp(std::span<std::uint8_t> out, const mac_address& mac,
                                 const ipv4_address& ip);

}  // namespace jitsu::packet
