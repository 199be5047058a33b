// Builders: build -> parse -> the same fields, valid checksums, refusal of small buffers.

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "common/packet/arp.h"
#include "common/packet/build.h"
#include "common/packet/frame.h"
#include "common/packet/protocols.h"

namespace jitsu::packet {
namespace {

const mac_address client_mac = *mac_address::parse("02:00:00:00:00:01");
const mac_address vm_mac = *mac_address::parse("02:00:00:00:00:0a");
const ipv4_address client_ip(10, 0, 0, 1);
const ipv4_address vm_ip(10, 0, 0, 10);
const ipv6_address client_ip6 = *ipv6_address::parse("fd00::1");
const ipv6_address vm_ip6 = *ipv6_address::parse("fd00::a");

using buffer = std::array<std::uint8_t, 1600>;

// Every buffer size below the frame's own must be refused, and must not be written past
// (the guard bytes after the smaller span stay intact).
template <typename Build>
void expect_refuses_small_buffers(std::size_t full_size, Build&& build) {
    for (std::size_t n = 0; n < full_size; ++n) {
        std::vector<std::uint8_t> out(n + 8, 0xa5);
        EXPECT_EQ(build(std::span(out).first(n)), 0u) << "buffer of " << n;
        for (std::size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], 0xa5) << n;
    }
}

TEST(common_arp_builder, request_reply_and_gratuitous) {
    buffer out{};
    std::size_t n = build_arp_request(out, client_mac, client_ip, vm_ip);
    ASSERT_EQ(n, 42u);
    auto f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->arp);
    EXPECT_TRUE(f->ethernet.dst().is_broadcast());
    EXPECT_EQ(f->ethernet.src(), client_mac);
    EXPECT_TRUE(f->arp->is_request());
    EXPECT_EQ(f->arp->sender_mac(), client_mac);
    EXPECT_EQ(f->arp->sender_ip(), client_ip);
    EXPECT_TRUE(f->arp->target_mac().is_zero());
    EXPECT_EQ(f->arp->target_ip(), vm_ip);

    n = build_arp_reply(out, vm_mac, vm_ip, client_mac, client_ip);
    ASSERT_EQ(n, 42u);
    f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->arp);
    EXPECT_EQ(f->ethernet.dst(), client_mac);
    EXPECT_TRUE(f->arp->is_reply());
    EXPECT_EQ(f->arp->sender_mac(), vm_mac);
    EXPECT_EQ(f->arp->sender_ip(), vm_ip);
    EXPECT_EQ(f->arp->target_mac(), client_mac);
    EXPECT_EQ(f->arp->target_ip(), client_ip);

    n = build_gratuitous_arp(out, vm_mac, vm_ip);
    ASSERT_EQ(n, 42u);
    f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->arp);
    EXPECT_TRUE(f->ethernet.dst().is_broadcast());
    EXPECT_TRUE(f->arp->is_gratuitous());
    EXPECT_EQ(f->arp->sender_ip(), vm_ip);

    expect_refuses_small_buffers(
        42, [](std::span<std::uint8_t> o) { return build_gratuitous_arp(o, vm_mac, vm_ip); });
}

TEST(common_arp_builder, vlan_tagged) {
    buffer out{};
    const std::size_t n =
        build_arp_frame(out, {.dst = mac_address::broadcast(), .src = client_mac, .vlan_tci = 7},
                        {.op = arp_op::request,
                         .sender_mac = client_mac,
                         .sender_ip = client_ip,
                         .target_ip = vm_ip});
    ASSERT_EQ(n, 46u);
    const auto f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->arp);
    EXPECT_EQ(f->ethernet.vlan_id(), 7);
}

TEST(common_tcp_builder, ipv4_syn_round_trip) {
    const tcp_option opts[] = {tcp_option::make_mss(1460), tcp_option::make_sack_permitted(),
                               tcp_option::make_timestamp(7, 0), tcp_option::make_nop(),
                               tcp_option::make_window_scale(7)};
    const tcp_fields tcp{.src_port = 43210,
                         .dst_port = 80,
                         .seq = 0xfffffff0U,
                         .ack = 0,
                         .flags = tcp_flags::syn,
                         .window = 64240};
    const ip_header_fields ip{.src = client_ip,
                              .dst = vm_ip,
                              .ttl = 61,
                              .ipv4_identification = 99,
                              .ipv4_dont_fragment = true};
    buffer out{};
    const std::size_t n = build_tcp_frame(out, {.dst = vm_mac, .src = client_mac}, ip, tcp, opts);
    ASSERT_EQ(n, 14u + 20u + 40u);
    const auto f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->ipv4 && f->tcp);
    EXPECT_EQ(f->ethernet.ethertype(), ethertype::ipv4);
    EXPECT_TRUE(f->ipv4->header_checksum_valid());
    EXPECT_EQ(f->ipv4->ttl(), 61);
    EXPECT_EQ(f->ipv4->identification(), 99);
    EXPECT_TRUE(f->ipv4->dont_fragment());
    EXPECT_EQ(f->ipv4->protocol(), ip_protocol::tcp);
    EXPECT_EQ(f->ipv4->src(), client_ip);
    EXPECT_EQ(f->ipv4->dst(), vm_ip);
    EXPECT_TRUE(f->tcp->checksum_valid(client_ip, vm_ip));
    EXPECT_EQ(f->tcp->src_port(), 43210);
    EXPECT_EQ(f->tcp->dst_port(), 80);
    EXPECT_EQ(f->tcp->seq(), 0xfffffff0U);
    EXPECT_TRUE(f->tcp->is_syn_only());
    EXPECT_EQ(f->tcp->window(), 64240);
    auto reader = f->tcp->options();
    EXPECT_EQ(reader.next()->mss, 1460);
    EXPECT_EQ(reader.next()->kind, tcp_option_kind::sack_permitted);
    EXPECT_EQ(reader.next()->ts_value, 7U);
    EXPECT_EQ(reader.next()->kind, tcp_option_kind::nop);
    EXPECT_EQ(reader.next()->window_scale, 7);
    EXPECT_FALSE(reader.next());
    EXPECT_FALSE(reader.malformed());

    expect_refuses_small_buffers(n, [&](std::span<std::uint8_t> o) {
        return build_tcp_frame(o, {.dst = vm_mac, .src = client_mac}, ip, tcp, opts);
    });
}

TEST(common_tcp_builder, ipv6_with_payload_round_trip) {
    const std::vector<std::uint8_t> payload{'h', 'e', 'l', 'l', 'o'};
    buffer out{};
    const std::size_t n =
        build_tcp_frame(out, {.dst = vm_mac, .src = client_mac},
                        {.src = client_ip6, .dst = vm_ip6, .ttl = 64, .ipv6_flow_label = 0x12345},
                        {.src_port = 1,
                         .dst_port = 2,
                         .seq = 3,
                         .ack = 4,
                         .flags = tcp_flags::psh | tcp_flags::ack,
                         .window = 5,
                         .urgent_pointer = 6},
                        {}, payload);
    ASSERT_EQ(n, 14u + 40u + 20u + 5u);
    const auto f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->ipv6 && f->tcp);
    EXPECT_EQ(f->ipv6->flow_label(), 0x12345U);
    EXPECT_EQ(f->ipv6->payload_length(), 25);
    EXPECT_TRUE(f->tcp->checksum_valid(client_ip6, vm_ip6));
    EXPECT_EQ(f->tcp->ack_number(), 4U);
    EXPECT_TRUE(f->tcp->psh());
    EXPECT_EQ(f->tcp->urgent_pointer(), 6);
    EXPECT_EQ(std::vector<std::uint8_t>(f->tcp->payload().begin(), f->tcp->payload().end()),
              payload);
}

TEST(common_tcp_builder, refuses_inconsistent_input) {
    buffer out{};
    EXPECT_EQ(build_tcp_frame(out, {}, {.src = client_ip, .dst = vm_ip6}, {}, {}), 0u);
    EXPECT_EQ(build_tcp_segment(out, {}, {}, {}, client_ip6, vm_ip), 0u);
    const std::vector<tcp_option> too_many(41, tcp_option::make_nop());
    EXPECT_EQ(build_tcp_frame(out, {}, {.src = client_ip, .dst = vm_ip}, {}, too_many), 0u);
}

TEST(common_udp_builder, both_families) {
    const std::vector<std::uint8_t> payload{1, 2, 3};
    buffer out{};
    std::size_t n =
        build_udp_frame(out, {.dst = vm_mac, .src = client_mac}, {.src = client_ip, .dst = vm_ip},
                        {.src_port = 5353, .dst_port = 53}, payload);
    ASSERT_EQ(n, 14u + 20u + 8u + 3u);
    auto f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->ipv4 && f->udp);
    EXPECT_TRUE(f->ipv4->header_checksum_valid());
    EXPECT_NE(f->udp->checksum(), 0);
    EXPECT_TRUE(f->udp->checksum_valid(client_ip, vm_ip));
    EXPECT_EQ(f->udp->src_port(), 5353);
    EXPECT_EQ(f->udp->payload().size(), 3u);

    n = build_udp_frame(out, {.dst = vm_mac, .src = client_mac, .vlan_tci = 0x0123},
                        {.src = client_ip6, .dst = vm_ip6}, {.src_port = 1, .dst_port = 2},
                        payload);
    ASSERT_EQ(n, 18u + 40u + 8u + 3u);
    f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->ipv6 && f->udp);
    EXPECT_EQ(f->ethernet.vlan_id(), 0x123);
    EXPECT_TRUE(f->udp->checksum_valid(client_ip6, vm_ip6));
}

TEST(common_udp_builder, a_zero_sum_is_sent_as_ffff) {
    // Find a payload whose checksum computes to 0: it must go out as 0xffff.
    std::vector<std::uint8_t> payload(2);
    const ip_address src = client_ip;
    const ip_address dst = vm_ip;
    std::array<std::uint8_t, 64> out{};
    for (unsigned v = 0; v <= 0xffff; ++v) {
        payload[0] = static_cast<std::uint8_t>(v >> 8);
        payload[1] = static_cast<std::uint8_t>(v);
        const std::size_t n =
            build_udp_datagram(out, {.src_port = 1, .dst_port = 2}, payload, src, dst);
        ASSERT_EQ(n, 10u);
        const auto udp = udp_view::parse(std::span(out).first(n));
        if (udp->checksum() == 0xffff) {
            EXPECT_TRUE(udp->checksum_valid(src, dst));
            return;
        }
        ASSERT_NE(udp->checksum(), 0);
    }
    FAIL() << "no payload summed to zero";
}

TEST(common_ndp_builder, solicitation_and_advertisement) {
    buffer out{};
    const ipv6_address group = vm_ip6.solicited_node_multicast();
    std::size_t n = build_neighbor_solicitation_frame(
        out, {.dst = group.multicast_mac(), .src = client_mac}, client_ip6, group,
        {.target = vm_ip6, .source_link_layer = client_mac});
    ASSERT_EQ(n, 14u + 40u + 32u);
    auto f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->ipv6 && f->icmpv6 && f->ndp);
    EXPECT_EQ(f->ipv6->hop_limit(), 255);
    EXPECT_EQ(f->ipv6->dst(), group);
    EXPECT_TRUE(f->icmpv6->checksum_valid(client_ip6, group));
    EXPECT_TRUE(f->ndp->is_solicitation());
    EXPECT_EQ(f->ndp->target(), vm_ip6);
    EXPECT_EQ(f->ndp->source_link_layer(), client_mac);

    n = build_neighbor_advertisement_frame(
        out, {.dst = client_mac, .src = vm_mac}, vm_ip6, client_ip6,
        {.target = vm_ip6, .solicited = true, .override_flag = true, .target_link_layer = vm_mac});
    ASSERT_EQ(n, 14u + 40u + 32u);
    f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->ndp);
    EXPECT_TRUE(f->icmpv6->checksum_valid(vm_ip6, client_ip6));
    EXPECT_TRUE(f->ndp->is_advertisement());
    EXPECT_FALSE(f->ndp->router_flag());
    EXPECT_TRUE(f->ndp->solicited_flag());
    EXPECT_TRUE(f->ndp->override_flag());
    EXPECT_EQ(f->ndp->target_link_layer(), vm_mac);

    // Without the link-layer option (e.g. duplicate address detection).
    n = build_neighbor_solicitation_frame(out, {.dst = group.multicast_mac(), .src = client_mac},
                                          ipv6_address(), group, {.target = vm_ip6});
    ASSERT_EQ(n, 14u + 40u + 24u);
    f = parse_frame(std::span(out).first(n));
    ASSERT_TRUE(f && f->ndp);
    EXPECT_FALSE(f->ndp->source_link_layer());

    expect_refuses_small_buffers(86, [&](std::span<std::uint8_t> o) {
        return build_neighbor_advertisement_frame(o, {.dst = client_mac, .src = vm_mac}, vm_ip6,
                                                  client_ip6,
                                                  {.target = vm_ip6, .target_link_layer = vm_mac});
    });
}

TEST(common_ip_builders, headers_alone) {
    std::array<std::uint8_t, 40> out{};
    EXPECT_EQ(build_ipv4_header(out, {.src = client_ip, .dst = vm_ip, .protocol = 17}, 0), 20u);
    const auto v4 = ipv4_view::parse(std::span(out).first(20));
    ASSERT_TRUE(v4);
    EXPECT_TRUE(v4->header_checksum_valid());
    EXPECT_EQ(build_ipv4_header(out, {}, 65516), 0u);  // total length would overflow
    EXPECT_EQ(build_ipv4_header(std::span(out).first(19), {}, 0), 0u);
    EXPECT_EQ(build_ipv6_header(out, {.src = client_ip6, .dst = vm_ip6, .next_header = 59}, 0),
              40u);
    EXPECT_EQ(ipv6_view::parse(out)->next_header(), 59);
    EXPECT_EQ(build_ipv6_header(out, {}, 65536), 0u);
    EXPECT_EQ(build_ethernet_header(std::span(out).first(13), {}, 0x0800), 0u);
}

}  // namespace
}  // namespace jitsu::packet
