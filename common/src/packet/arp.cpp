#include "common/packet/arp.h"

#include "common/byte_io.h"
#include "common/detail/endian.h"
#include "common/packet/protocols.h"

namespace jitsu::packet {

std::optional<arp_view> arp_view::parse(std::span<const std::uint8_t> body) {
    if (body.size() < size) return std::nullopt;
    const bool ethernet_ipv4 = detail::load_be16(body.data()) == 1 &&
                               detail::load_be16(body.data() + 2) == ethertype::ipv4 &&
                               body[4] == mac_address::size && body[5] == ipv4_address::size;
    if (!ethernet_ipv4) return std::nullopt;
    return arp_view(body.first(size));
}

std::uint16_t arp_view::op() const { return detail::load_be16(body_.data() + 6); }

mac_address arp_view::sender_mac() const { return mac_address::from_bytes(body_.subspan<8, 6>()); }

ipv4_address arp_view::sender_ip() const {
    return ipv4_address::from_bytes(body_.subspan<14, 4>());
}

mac_address arp_view::target_mac() const { return mac_address::from_bytes(body_.subspan<18, 6>()); }

ipv4_address arp_view::target_ip() const {
    return ipv4_address::from_bytes(body_.subspan<24, 4>());
}

std::size_t build_arp(std::span<std::uint8_t> out, const arp_fields& f) {
    byte_writer w(out);
    w.u16(1);
    w.u16(ethertype::ipv4);
    w.u8(mac_address::size);
    w.u8(ipv4_address::size);
    w.u16(f.op);
    w.bytes(f.sender_mac.bytes());
    w.bytes(f.sender_ip.bytes());
    w.bytes(f.target_mac.bytes());
    w.bytes(f.target_ip.bytes());
    return w.failed() ? 0 : w.written();
}

std::size_t build_arp_frame(std::span<std::uint8_t> out, const ethernet_fields& eth,
                            const arp_fields& arp) {
    const std::size_t header = build_ethernet_header(out, eth, ethertype::arp);
    if (header == 0) return 0;
    const std::size_t body = build_arp(out.subspan(header), arp);
    return body == 0 ? 0 : header + body;
}

std::size_t build_arp_request(std::span<std::uint8_t> out, const mac_address& sender_mac,
                              const ipv4_address& sender_ip, const ipv4_address& target_ip) {
    return build_arp_frame(out, {.dst = mac_address::broadcast(), .src = sender_mac},
                           {.op = arp_op::request,
                            .sender_mac = sender_mac,
                            .sender_ip = sender_ip,
                            .target_mac = mac_address(),
                            .target_ip = target_ip});
}

std::size_t build_arp_reply(std::span<std::uint8_t> out, const mac_address& sender_mac,
                            const ipv4_address& sender_ip, const mac_address& target_mac,
                            const ipv4_address& target_ip) {
    return build_arp_frame(out, {.dst = target_mac, .src = sender_mac},
                           {.op = arp_op::reply,
                            .sender_mac = sender_mac,
                            .sender_ip = sender_ip,
                            .target_mac = target_mac,
                            .target_ip = target_ip});
}

std::size_t build_gratuitous_arp(std::span<std::uint8_t> out, const mac_address& mac,
                                 const ipv4_address& ip) {
    return build_arp_request(out, mac, ip, ip);
}

}  // namespace jitsu::packet
