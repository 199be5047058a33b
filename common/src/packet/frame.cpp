#include "common/packet/frame.h"

#include "common/packet/protocols.h"

namespace jitsu::packet {
namespace {

void parse_l4(parsed_frame& f, std::uint8_t protocol, std::span<const std::uint8_t> payload) {
    switch (protocol) {
        case ip_protocol::tcp:
            f.tcp = tcp_view::parse(payload);
            break;
        case ip_protocol::udp:
            f.udp = udp_view::parse(payload);
            break;
        case ip_protocol::icmpv6:
            // ICMPv6 over IPv4 is meaningless; only look inside IPv6.
            if (!f.ipv6) break;
            f.icmpv6 = icmpv6_view::parse(payload);
            if (f.icmpv6) f.ndp = ndp_view::parse(*f.icmpv6);
            break;
        default:
            break;
    }
}

}  // namespace

std::optional<ip_address> parsed_frame::src_ip() const {
    if (ipv4) return ip_address(ipv4->src());
    if (ipv6) return ip_address(ipv6->src());
    return std::nullopt;
}

std::optional<ip_address> parsed_frame::dst_ip() const {
    if (ipv4) return ip_address(ipv4->dst());
    if (ipv6) return ip_address(ipv6->dst());
    return std::nullopt;
}

std::optional<parsed_frame> parse_frame(std::span<const std::uint8_t> frame) {
    const auto eth = ethernet_view::parse(frame);
    if (!eth) return std::nullopt;
    parsed_frame f{.ethernet = *eth};
    switch (eth->ethertype()) {
        case ethertype::arp:
            f.arp = arp_view::parse(eth->payload());
            break;
        case ethertype::ipv4:
            f.ipv4 = ipv4_view::parse(eth->payload());
            if (f.ipv4) {
                if (auto l4 = f.ipv4->l4_payload()) parse_l4(f, f.ipv4->protocol(), *l4);
            }
            break;
        case ethertype::ipv6:
            f.ipv6 = ipv6_view::parse(eth->payload());
            if (f.ipv6) {
                const auto protocol = f.ipv6->l4_protocol();
                const auto l4 = f.ipv6->l4_payload();
                if (protocol && l4) parse_l4(f, *protocol, *l4);
            }
            break;
        default:
            break;
    }
    return f;
}

}  // namespace jitsu::packet
