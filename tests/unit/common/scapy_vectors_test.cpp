// Frames crafted by Scapy (tests/scapy/gen_common_vectors.py, committed under
// tests/scapy/vectors/): (a) our views read the fields Scapy wrote; (b) our builders,
// given the same parameters, produce the same bytes, checksums included.
// The parameters here mirror gen_common_vectors.py: change both together.

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "common/hex.h"
#include "common/packet/arp.h"
#include "common/packet/build.h"
#include "common/packet/frame.h"
#include "common/packet/protocols.h"
#include "common/syn_record.h"
#include "test_support.h"

namespace jitsu::packet {
namespace {

using test::bytes;
using test::scapy_vector;

const mac_address client_mac = *mac_address::parse("02:00:00:00:00:01");
const mac_address vm_mac = *mac_address::parse("02:00:00:00:00:0a");
const ipv4_address client_ip = *ipv4_address::parse("10.0.0.1");
const ipv4_address vm_ip = *ipv4_address::parse("10.0.0.10");
const ipv6_address client_ip6 = *ipv6_address::parse("fd00::1");
const ipv6_address vm_ip6 = *ipv6_address::parse("fd00::a");

const std::vector<tcp_option> linux_syn_options = {
    tcp_option::make_mss(1460), tcp_option::make_sack_permitted(),
    tcp_option::make_timestamp(2882400001U, 0), tcp_option::make_nop(),
    tcp_option::make_window_scale(7)};

// Compares as hex so a mismatch shows where.
template <typename Build>
void expect_builds(std::string_view name, Build&& build) {
    std::array<std::uint8_t, 1600> out{};
    const std::size_t n = build(std::span<std::uint8_t>(out));
    EXPECT_EQ(to_hex(std::span(out).first(n)), to_hex(scapy_vector(name))) << name;
}

parsed_frame parse(std::string_view name) {
    auto f = parse_frame(scapy_vector(name));
    EXPECT_TRUE(f) << name;
    return *f;
}

TEST(common_scapy_vectors, the_file_has_every_frame) {
    EXPECT_EQ(test::scapy_vectors().size(), 20u);
    for (const auto& v : test::scapy_vectors()) {
        EXPECT_TRUE(parse_frame(v.frame)) << v.name;
    }
}

TEST(common_scapy_vectors, arp_frames) {
    auto f = parse("arp_request");
    ASSERT_TRUE(f.arp);
    EXPECT_TRUE(f.arp->is_request());
    EXPECT_EQ(f.arp->sender_mac(), client_mac);
    EXPECT_EQ(f.arp->sender_ip(), client_ip);
    EXPECT_EQ(f.arp->target_ip(), vm_ip);
    expect_builds("arp_request",
                  [](auto out) { return build_arp_request(out, client_mac, client_ip, vm_ip); });

    f = parse("arp_reply");
    ASSERT_TRUE(f.arp);
    EXPECT_TRUE(f.arp->is_reply());
    EXPECT_EQ(f.arp->target_mac(), client_mac);
    expect_builds("arp_reply", [](auto out) {
        return build_arp_reply(out, vm_mac, vm_ip, client_mac, client_ip);
    });

    f = parse("arp_gratuitous");
    ASSERT_TRUE(f.arp);
    EXPECT_TRUE(f.arp->is_gratuitous());
    expect_builds("arp_gratuitous",
                  [](auto out) { return build_gratuitous_arp(out, vm_mac, vm_ip); });

    f = parse("arp_request_padded");
    ASSERT_TRUE(f.arp);
    EXPECT_EQ(f.ethernet.bytes().size(), 60u);
    EXPECT_EQ(f.arp->target_ip(), vm_ip);

    f = parse("vlan_arp_request");
    ASSERT_TRUE(f.arp);
    EXPECT_EQ(f.ethernet.vlan_id(), 7);
    expect_builds("vlan_arp_request", [](auto out) {
        return build_arp_frame(out,
                               {.dst = mac_address::broadcast(), .src = client_mac, .vlan_tci = 7},
                               {.op = arp_op::request,
                                .sender_mac = client_mac,
                                .sender_ip = client_ip,
                                .target_ip = vm_ip});
    });
}

TEST(common_scapy_vectors, tcp4_syn) {
    const auto f = parse("tcp4_syn");
    ASSERT_TRUE(f.ipv4 && f.tcp);
    EXPECT_TRUE(f.ipv4->header_checksum_valid());
    EXPECT_EQ(f.ipv4->identification(), 0x1234);
    EXPECT_TRUE(f.ipv4->dont_fragment());
    EXPECT_TRUE(f.tcp->checksum_valid(client_ip, vm_ip));
    EXPECT_TRUE(f.tcp->is_syn_only());
    EXPECT_EQ(f.tcp->src_port(), 43210);
    EXPECT_EQ(f.tcp->dst_port(), 80);
    EXPECT_EQ(f.tcp->seq(), 0x01020304U);
    EXPECT_EQ(f.tcp->window(), 64240);
    EXPECT_EQ(tcp_options_sexp(f.tcp->raw_options()),
              "((MSS 1460) SACK_ok (Timestamp -1412567295 0) Noop (Window_size_shift 7))");
    expect_builds("tcp4_syn", [](auto out) {
        return build_tcp_frame(out, {.dst = vm_mac, .src = client_mac},
                               {.src = client_ip,
                                .dst = vm_ip,
                                .ttl = 64,
                                .ipv4_identification = 0x1234,
                                .ipv4_dont_fragment = true},
                               {.src_port = 43210,
                                .dst_port = 80,
                                .seq = 0x01020304,
                                .flags = tcp_flags::syn,
                                .window = 64240},
                               linux_syn_options);
    });
}

TEST(common_scapy_vectors, tcp4_syn_nop_aligned) {
    const auto f = parse("tcp4_syn_nop_aligned");
    ASSERT_TRUE(f.tcp);
    EXPECT_TRUE(f.tcp->checksum_valid(client_ip, vm_ip));
    EXPECT_EQ(f.tcp->seq(), 4000000000U);
    EXPECT_EQ(tcp_options_sexp(f.tcp->raw_options()),
              "((MSS 1400) Noop (Window_size_shift 2) SACK_ok (Timestamp 1 0))");
    expect_builds("tcp4_syn_nop_aligned", [](auto out) {
        const tcp_option opts[] = {
            tcp_option::make_mss(1400), tcp_option::make_nop(), tcp_option::make_window_scale(2),
            tcp_option::make_sack_permitted(), tcp_option::make_timestamp(1, 0)};
        return build_tcp_frame(
            out, {.dst = vm_mac, .src = client_mac},
            {.src = client_ip, .dst = vm_ip, .ttl = 63, .ipv4_identification = 1},
            {.src_port = 40000,
             .dst_port = 8080,
             .seq = 4000000000U,
             .flags = tcp_flags::syn,
             .window = 29200},
            opts);
    });
}

TEST(common_scapy_vectors, tcp4_synack) {
    const auto f = parse("tcp4_synack");
    ASSERT_TRUE(f.tcp);
    EXPECT_TRUE(f.tcp->syn() && f.tcp->ack());
    EXPECT_FALSE(f.tcp->is_syn_only());
    EXPECT_EQ(f.tcp->ack_number(), 0x01020305U);
    EXPECT_TRUE(f.tcp->checksum_valid(vm_ip, client_ip));
    expect_builds("tcp4_synack", [](auto out) {
        const tcp_option opts[] = {tcp_option::make_mss(1460), tcp_option::make_sack_permitted(),
                                   tcp_option::make_timestamp(5, 2882400001U),
                                   tcp_option::make_nop(), tcp_option::make_window_scale(7)};
        return build_tcp_frame(out, {.dst = client_mac, .src = vm_mac},
                               {.src = vm_ip,
                                .dst = client_ip,
                                .ttl = 64,
                                .ipv4_identification = 0,
                                .ipv4_dont_fragment = true},
                               {.src_port = 80,
                                .dst_port = 43210,
                                .seq = 0xdeadbeef,
                                .ack = 0x01020305,
                                .flags = tcp_flags::syn | tcp_flags::ack,
                                .window = 65160},
                               opts);
    });
}

TEST(common_scapy_vectors, tcp4_data_with_odd_payload) {
    const auto f = parse("tcp4_psh_ack_data");
    ASSERT_TRUE(f.tcp);
    EXPECT_TRUE(f.tcp->checksum_valid(client_ip, vm_ip));
    EXPECT_EQ(f.tcp->payload().size(), 5u);
    expect_builds("tcp4_psh_ack_data", [](auto out) {
        const tcp_option opts[] = {tcp_option::make_nop(), tcp_option::make_nop(),
                                   tcp_option::make_timestamp(2882400100U, 5)};
        const std::uint8_t payload[] = {'h', 'e', 'l', 'l', 'o'};
        return build_tcp_frame(out, {.dst = vm_mac, .src = client_mac},
                               {.src = client_ip,
                                .dst = vm_ip,
                                .ttl = 64,
                                .ipv4_identification = 0x4242,
                                .ipv4_dont_fragment = true},
                               {.src_port = 43210,
                                .dst_port = 80,
                                .seq = 0x01020305,
                                .ack = 0xdeadbef0,
                                .flags = tcp_flags::psh | tcp_flags::ack,
                                .window = 502},
                               opts, payload);
    });
}

TEST(common_scapy_vectors, tcp4_sack_and_unknown_option) {
    const auto f = parse("tcp4_ack_sack_unknown");
    ASSERT_TRUE(f.tcp);
    EXPECT_TRUE(f.tcp->checksum_valid(client_ip, vm_ip));
    EXPECT_EQ(tcp_options_sexp(f.tcp->raw_options()),
              "(Noop Noop (SACK ((1000 2000) (3000 4000))) (Unknown 30 \"\\001\\002\"))");
    expect_builds("tcp4_ack_sack_unknown", [](auto out) {
        const sack_block blocks[] = {{1000, 2000}, {3000, 4000}};
        const std::uint8_t data[] = {1, 2};
        const tcp_option opts[] = {tcp_option::make_nop(), tcp_option::make_nop(),
                                   tcp_option::make_sack(blocks),
                                   tcp_option::make_unknown(30, data)};
        return build_tcp_frame(
            out, {.dst = vm_mac, .src = client_mac},
            {.src = client_ip, .dst = vm_ip, .ttl = 64, .ipv4_identification = 9},
            {.src_port = 43210,
             .dst_port = 80,
             .seq = 100,
             .ack = 200,
             .flags = tcp_flags::ack,
             .window = 1000},
            opts);
    });
}

TEST(common_scapy_vectors, tcp6_syn) {
    const auto f = parse("tcp6_syn");
    ASSERT_TRUE(f.ipv6 && f.tcp);
    EXPECT_EQ(f.ipv6->src(), client_ip6);
    EXPECT_EQ(f.ipv6->dst(), vm_ip6);
    EXPECT_TRUE(f.tcp->checksum_valid(client_ip6, vm_ip6));
    EXPECT_TRUE(f.tcp->is_syn_only());
    expect_builds("tcp6_syn", [](auto out) {
        const tcp_option opts[] = {tcp_option::make_mss(1440), tcp_option::make_sack_permitted(),
                                   tcp_option::make_timestamp(123456789, 0), tcp_option::make_nop(),
                                   tcp_option::make_window_scale(7)};
        return build_tcp_frame(out, {.dst = vm_mac, .src = client_mac},
                               {.src = client_ip6, .dst = vm_ip6, .ttl = 64},
                               {.src_port = 43211,
                                .dst_port = 443,
                                .seq = 0x11223344,
                                .flags = tcp_flags::syn,
                                .window = 64800},
                               opts);
    });
}

TEST(common_scapy_vectors, ipv6_extension_headers_and_fragments) {
    auto f = parse("tcp6_syn_ext_headers");
    ASSERT_TRUE(f.ipv6 && f.tcp);
    EXPECT_EQ(f.ipv6->next_header(), ip_protocol::hop_by_hop);
    EXPECT_TRUE(f.ipv6->is_fragment());
    EXPECT_EQ(f.tcp->dst_port(), 80);
    EXPECT_TRUE(f.tcp->checksum_valid(client_ip6, vm_ip6));

    f = parse("tcp6_fragment_non_first");
    ASSERT_TRUE(f.ipv6);
    EXPECT_TRUE(f.ipv6->is_fragment());
    EXPECT_FALSE(f.ipv6->l4_protocol());
    EXPECT_FALSE(f.tcp);

    f = parse("ipv4_fragment_non_first");
    ASSERT_TRUE(f.ipv4);
    EXPECT_EQ(f.ipv4->fragment_offset(), 10);
    EXPECT_TRUE(f.ipv4->more_fragments());
    EXPECT_TRUE(f.ipv4->header_checksum_valid());
    EXPECT_FALSE(f.tcp);
}

TEST(common_scapy_vectors, udp_frames) {
    auto f = parse("udp4_ip_options");
    ASSERT_TRUE(f.ipv4 && f.udp);
    EXPECT_EQ(f.ipv4->header_length(), 24u);
    EXPECT_EQ(f.ipv4->options().size(), 4u);
    EXPECT_TRUE(f.ipv4->header_checksum_valid());
    EXPECT_TRUE(f.udp->checksum_valid(client_ip, vm_ip));

    f = parse("udp4_dns");
    ASSERT_TRUE(f.udp);
    EXPECT_TRUE(f.udp->checksum_valid(client_ip, vm_ip));
    EXPECT_EQ(f.udp->dst_port(), 53);
    const std::uint8_t payload4[] = {0x12, 0x34, 'q', 'u', 'e', 'r', 'y'};
    expect_builds("udp4_dns", [&](auto out) {
        return build_udp_frame(
            out, {.dst = vm_mac, .src = client_mac},
            {.src = client_ip, .dst = vm_ip, .ttl = 64, .ipv4_identification = 7},
            {.src_port = 5353, .dst_port = 53}, payload4);
    });

    f = parse("udp6_dns");
    ASSERT_TRUE(f.ipv6 && f.udp);
    EXPECT_TRUE(f.udp->checksum_valid(client_ip6, vm_ip6));
    const std::uint8_t payload6[] = {0x12, 0x34, 'q', 'u', 'e', 'r', 'y', '6'};
    expect_builds("udp6_dns", [&](auto out) {
        return build_udp_frame(out, {.dst = vm_mac, .src = client_mac},
                               {.src = client_ip6, .dst = vm_ip6, .ttl = 64},
                               {.src_port = 5353, .dst_port = 53}, payload6);
    });
}

TEST(common_scapy_vectors, neighbour_discovery) {
    const ipv6_address group = vm_ip6.solicited_node_multicast();
    auto f = parse("icmpv6_ns");
    ASSERT_TRUE(f.ipv6 && f.icmpv6 && f.ndp);
    EXPECT_EQ(f.ipv6->hop_limit(), 255);
    EXPECT_EQ(f.ipv6->dst(), group);
    EXPECT_EQ(f.ethernet.dst(), group.multicast_mac());
    EXPECT_TRUE(f.icmpv6->checksum_valid(client_ip6, group));
    EXPECT_TRUE(f.ndp->is_solicitation());
    EXPECT_EQ(f.ndp->target(), vm_ip6);
    EXPECT_EQ(f.ndp->source_link_layer(), client_mac);
    expect_builds("icmpv6_ns", [&](auto out) {
        return build_neighbor_solicitation_frame(
            out, {.dst = group.multicast_mac(), .src = client_mac}, client_ip6, group,
            {.target = vm_ip6, .source_link_layer = client_mac});
    });

    f = parse("icmpv6_na");
    ASSERT_TRUE(f.ndp);
    EXPECT_TRUE(f.icmpv6->checksum_valid(vm_ip6, client_ip6));
    EXPECT_TRUE(f.ndp->is_advertisement());
    EXPECT_FALSE(f.ndp->router_flag());
    EXPECT_TRUE(f.ndp->solicited_flag());
    EXPECT_TRUE(f.ndp->override_flag());
    EXPECT_EQ(f.ndp->target_link_layer(), vm_mac);
    expect_builds("icmpv6_na", [](auto out) {
        return build_neighbor_advertisement_frame(out, {.dst = client_mac, .src = vm_mac}, vm_ip6,
                                                  client_ip6,
                                                  {.target = vm_ip6,
                                                   .router = false,
                                                   .solicited = true,
                                                   .override_flag = true,
                                                   .target_link_layer = vm_mac});
    });
}

TEST(common_scapy_vectors, vlan_tagged_syn) {
    const auto f = parse("vlan_tcp4_syn");
    ASSERT_TRUE(f.ipv4 && f.tcp);
    EXPECT_EQ(f.ethernet.vlan_tci(), 0x602a);  // priority 3, VLAN 42
    EXPECT_EQ(f.ethernet.vlan_id(), 42);
    EXPECT_TRUE(f.tcp->checksum_valid(client_ip, vm_ip));
    expect_builds("vlan_tcp4_syn", [](auto out) {
        const tcp_option opts[] = {tcp_option::make_mss(1460)};
        return build_tcp_frame(
            out, {.dst = vm_mac, .src = client_mac, .vlan_tci = 0x602a},
            {.src = client_ip,
             .dst = vm_ip,
             .ttl = 64,
             .ipv4_identification = 0x0101,
             .ipv4_dont_fragment = true},
            {.src_port = 43213, .dst_port = 80, .seq = 1, .flags = tcp_flags::syn, .window = 8192},
            opts);
    });
}

}  // namespace
}  // namespace jitsu::packet
