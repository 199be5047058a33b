#include "common/packet/build.h"

#include "common/packet/ipv4.h"
#include "common/packet/ipv6.h"
#include "common/packet/protocols.h"

namespace jitsu::packet {
namespace {

constexpr std::uint8_t ndp_hop_limit = 255;

// Ethernet header, then the upper layer written by `build_l4` into the space after the
// IP header, then the IP header (whose length field needs the upper layer's size).
template <typename L4Builder>
std::size_t build_ip_frame(std::span<std::uint8_t> out, const ethernet_fields& eth,
                           const ip_header_fields& ip, std::uint8_t protocol,
                           L4Builder&& build_l4) {
    if (ip.src.is_v4() != ip.dst.is_v4()) return 0;
    const bool v4 = ip.src.is_v4();
    const std::size_t eth_length =
        build_ethernet_header(out, eth, v4 ? ethertype::ipv4 : ethertype::ipv6);
    if (eth_length == 0) return 0;
    const std::size_t ip_length = v4 ? ipv4_view::min_header_size : ipv6_view::header_size;
    if (out.size() - eth_length < ip_length) return 0;
    const std::size_t l4_length = build_l4(out.subspan(eth_length + ip_length));
    if (l4_length == 0) return 0;

    const auto ip_out = out.subspan(eth_length);
    std::size_t written = 0;
    if (v4) {
        written = build_ipv4_header(ip_out,
                                    {.src = ip.src.v4(),
                                     .dst = ip.dst.v4(),
                                     .protocol = protocol,
                                     .ttl = ip.ttl,
                                     .tos = ip.tos,
                                     .identification = ip.ipv4_identification,
                                     .dont_fragment = ip.ipv4_dont_fragment},
                                    l4_length);
    } else {
        written = build_ipv6_header(ip_out,
                                    {.src = ip.src.v6(),
                                     .dst = ip.dst.v6(),
                                     .next_header = protocol,
                                     .hop_limit = ip.ttl,
                                     .traffic_class = ip.tos,
                                     .flow_label = ip.ipv6_flow_label},
                                    l4_length);
    }
    return written == 0 ? 0 : eth_length + ip_length + l4_length;
}

}  // namespace

std::size_t build_tcp_frame(std::span<std::uint8_t> out, const ethernet_fields& eth,
                            const ip_header_fields& ip, const tcp_fields& tcp,
                            std::span<const tcp_option> options,
                            std::span<const std::uint8_t> payload) {
    return build_ip_frame(out, eth, ip, ip_protocol::tcp, [&](std::span<std::uint8_t> l4) {
        return build_tcp_segment(l4, tcp, options, payload, ip.src, ip.dst);
    });
}

std::size_t build_udp_frame(std::span<std::uint8_t> out, const ethernet_fields& eth,
                            const ip_header_fields& ip, const udp_fields& udp,
                            std::span<const std::uint8_t> payload) {
    return build_ip_frame(out, eth, ip, ip_protocol::udp, [&](std::span<std::uint8_t> l4) {
        return build_udp_datagram(l4, udp, payload, ip.src, ip.dst);
    });
}

std::size_t build_neighbor_solicitation_frame(std::span<std::uint8_t> out,
                                              const ethernet_fields& eth, const ipv6_address& src,
                                              const ipv6_address& dst,
                                              const neighbor_solicitation_fields& ns) {
    const ip_header_fields ip{.src = src, .dst = dst, .ttl = ndp_hop_limit};
    return build_ip_frame(out, eth, ip, ip_protocol::icmpv6, [&](std::span<std::uint8_t> l4) {
        return build_neighbor_solicitation(l4, ns, src, dst);
    });
}

std::size_t build_neighbor_advertisement_frame(std::span<std::uint8_t> out,
                                               const ethernet_fields& eth, const ipv6_address& src,
                                               const ipv6_address& dst,
                                               const neighbor_advertisement_fields& na) {
    const ip_header_fields ip{.src = src, .dst = dst, .ttl = ndp_hop_limit};
    return build_ip_frame(out, eth, ip, ip_protocol::icmpv6, [&](std::span<std::uint8_t> l4) {
        return build_neighbor_advertisement(l4, na, src, dst);
    });
}

}  // namespace jitsu::packet
