#include "frames.h"

#include <array>

#include "common/packet/arp.h"
#include "common/packet/build.h"

namespace jitsu::synjitsu::test {

std::vector<packet::tcp_option> linux_syn_options() {
    return {packet::tcp_option::make_mss(1460), packet::tcp_option::make_sack_permitted(),
            packet::tcp_option::make_timestamp(123456, 0), packet::tcp_option::make_nop(),
            packet::tcp_option::make_window_scale(7)};
}

bytes tcp_frame(const syn_spec& s) {
    std::array<std::uint8_t, 256> buf{};
    packet::ip_header_fields ip;
    ip.src = s.src;
    ip.dst = s.dst;
    packet::tcp_fields tcp;
    tcp.src_port = s.sport;
    tcp.dst_port = s.dport;
    tcp.seq = s.seq;
    tcp.flags = s.flags;
    tcp.window = s.window;
    const std::size_t n =
        packet::build_tcp_frame(buf, {.dst = s.dst_mac, .src = s.src_mac}, ip, tcp, s.options);
    return bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

bytes arp_request(const mac_address& sender_mac, const ip_address& sender_ip,
                  const ip_address& target) {
    std::array<std::uint8_t, 64> buf{};
    const std::size_t n = packet::build_arp_request(buf, sender_mac, sender_ip.v4(), target.v4());
    return bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

bytes arp_reply_frame(const mac_address& sender_mac, const ip_address& sender_ip,
                      const mac_address& target_mac, const ip_address& target_ip) {
    std::array<std::uint8_t, 64> buf{};
    const std::size_t n =
        packet::build_arp_reply(buf, sender_mac, sender_ip.v4(), target_mac, target_ip.v4());
    return bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

bytes gratuitous_arp(const mac_address& mac, const ip_address& ip) {
    std::array<std::uint8_t, 64> buf{};
    const std::size_t n = packet::build_gratuitous_arp(buf, mac, ip.v4());
    return bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

bytes neighbor_solicitation(const mac_address& src_mac, const ip_address& src,
                            const ip_address& target, std::uint8_t hop_limit) {
    std::array<std::uint8_t, 128> buf{};
    const ipv6_address group = target.v6().solicited_node_multicast();
    packet::neighbor_solicitation_fields ns;
    ns.target = target.v6();
    if (!src.v6().is_unspecified()) ns.source_link_layer = src_mac;
    std::size_t n = packet::build_neighbor_solicitation_frame(
        buf, {.dst = group.multicast_mac(), .src = src_mac}, src.v6(), group, ns);
    bytes out(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (hop_limit != 255 && n > 21) out[14 + 7] = hop_limit;  // checksum does not cover it
    return out;
}

bytes neighbor_advertisement(const mac_address& src_mac, const ip_address& target) {
    std::array<std::uint8_t, 128> buf{};
    packet::neighbor_advertisement_fields na;
    na.target = target.v6();
    na.target_link_layer = src_mac;
    const auto all_nodes = *ipv6_address::parse("ff02::1");
    const std::size_t n = packet::build_neighbor_advertisement_frame(
        buf, {.dst = all_nodes.multicast_mac(), .src = src_mac}, target.v6(), all_nodes, na);
    return bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

bytes udp_frame(const ip_address& src, const ip_address& dst) {
    std::array<std::uint8_t, 128> buf{};
    packet::ip_header_fields ip;
    ip.src = src;
    ip.dst = dst;
    const std::array<std::uint8_t, 4> payload{1, 2, 3, 4};
    const std::size_t n = packet::build_udp_frame(buf, {.dst = vm_mac, .src = client_mac}, ip,
                                                  {.src_port = 5353, .dst_port = 53}, payload);
    return bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

bytes tagged(bytes frame, std::uint16_t tpid, std::uint16_t tci) {
    const bytes tag = {static_cast<std::uint8_t>(tpid >> 8), static_cast<std::uint8_t>(tpid),
                       static_cast<std::uint8_t>(tci >> 8), static_cast<std::uint8_t>(tci)};
    frame.insert(frame.begin() + 12, tag.begin(), tag.end());
    return frame;
}

bytes with_ipv6_extension(bytes frame, std::uint8_t type) {
    constexpr std::size_t ip6 = 14;
    bytes ext(8, 0);
    ext[0] = frame[ip6 + 6];  // its next header: what the fixed header announced
    if (type == 0 || type == 60) {
        ext[2] = 1;  // PadN, 4 bytes of padding
        ext[3] = 4;
    }
    frame[ip6 + 6] = type;
    const unsigned length = (unsigned{frame[ip6 + 4]} << 8 | frame[ip6 + 5]) + 8;
    frame[ip6 + 4] = static_cast<std::uint8_t>(length >> 8);
    frame[ip6 + 5] = static_cast<std::uint8_t>(length);
    frame.insert(frame.begin() + ip6 + 40, ext.begin(), ext.end());
    return frame;
}

}  // namespace jitsu::synjitsu::test
