// Packet views against hand-written byte arrays: fields, validation rules, rejection.

#include <gtest/gtest.h>

#include "common/checksum.h"
#include "common/packet/arp.h"
#include "common/packet/ethernet.h"
#include "common/packet/frame.h"
#include "common/packet/icmpv6.h"
#include "common/packet/ipv4.h"
#include "common/packet/ipv6.h"
#include "common/packet/protocols.h"
#include "common/packet/tcp.h"
#include "common/packet/udp.h"
#include "test_support.h"

namespace jitsu::packet {
namespace {

using test::bytes;
using test::cat;
using test::hex;

const bytes eth_ipv4 = hex("02000000000a 020000000001 0800");
const bytes eth_ipv6 = hex("02000000000a 020000000001 86dd");

// A 20-byte IPv4 header 10.0.0.1 -> 10.0.0.10 for `payload` bytes of `protocol`, with a
// correct checksum.
bytes ipv4_header(std::uint8_t protocol, std::size_t payload, std::uint16_t frag = 0) {
    const auto total = static_cast<std::uint16_t>(20 + payload);
    bytes h{0x45,
            0x00,
            static_cast<std::uint8_t>(total >> 8),
            static_cast<std::uint8_t>(total),
            0x12,
            0x34,
            static_cast<std::uint8_t>(frag >> 8),
            static_cast<std::uint8_t>(frag),
            0x40,
            protocol,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            10};
    const std::uint16_t sum = ipv4_header_checksum(h);
    h[10] = static_cast<std::uint8_t>(sum >> 8);
    h[11] = static_cast<std::uint8_t>(sum);
    return h;
}

TEST(common_ethernet_view, untagged) {
    const bytes frame = cat({eth_ipv4, hex("aabb")});
    const auto eth = ethernet_view::parse(frame);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst().to_string(), "02:00:00:00:00:0a");
    EXPECT_EQ(eth->src().to_string(), "02:00:00:00:00:01");
    EXPECT_EQ(eth->ethertype(), ethertype::ipv4);
    EXPECT_FALSE(eth->vlan_tci());
    EXPECT_FALSE(eth->vlan_id());
    EXPECT_EQ(eth->header_length(), 14u);
    EXPECT_EQ(eth->payload().size(), 2u);
}

TEST(common_ethernet_view, single_vlan_tag) {
    const bytes frame = hex("ffffffffffff 020000000001 8100 602a 0806 01");
    const auto eth = ethernet_view::parse(frame);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->ethertype(), ethertype::arp);
    EXPECT_EQ(eth->vlan_tci(), 0x602a);
    EXPECT_EQ(eth->vlan_id(), 42);
    EXPECT_EQ(eth->header_length(), 18u);
    EXPECT_EQ(eth->payload().size(), 1u);
}

TEST(common_ethernet_view, rejects_short_headers) {
    EXPECT_FALSE(ethernet_view::parse(hex("02000000000a020000000001 08")));
    EXPECT_TRUE(ethernet_view::parse(eth_ipv4));  // header only, empty payload
    EXPECT_FALSE(ethernet_view::parse(hex("ffffffffffff 020000000001 8100 602a 08")));
}

TEST(common_arp_view, request_fields) {
    const bytes body =
        hex("0001 0800 06 04 0001 020000000001 0a000001 000000000000 0a00000a"
            "0000");  // two bytes of padding, ignored
    const auto arp = arp_view::parse(body);
    ASSERT_TRUE(arp);
    EXPECT_TRUE(arp->is_request());
    EXPECT_FALSE(arp->is_reply());
    EXPECT_EQ(arp->sender_mac().to_string(), "02:00:00:00:00:01");
    EXPECT_EQ(arp->sender_ip().to_string(), "10.0.0.1");
    EXPECT_TRUE(arp->target_mac().is_zero());
    EXPECT_EQ(arp->target_ip().to_string(), "10.0.0.10");
    EXPECT_FALSE(arp->is_gratuitous());
}

TEST(common_arp_view, rejects_other_hardware_and_protocols) {
    const std::string good = "0001 0800 06 04 0002 020000000001 0a000001 020000000002 0a000002";
    EXPECT_TRUE(arp_view::parse(hex(good)));
    EXPECT_FALSE(arp_view::parse(hex("0006" + good.substr(4))));              // IEEE 802 hardware
    EXPECT_FALSE(arp_view::parse(hex("0001 86dd" + good.substr(9))));         // not IPv4
    EXPECT_FALSE(arp_view::parse(hex("0001 0800 08" + good.substr(12))));     // hlen 8
    EXPECT_FALSE(arp_view::parse(hex("0001 0800 06 10" + good.substr(15))));  // plen 16
    const bytes body = hex(good);
    EXPECT_FALSE(arp_view::parse(std::span(body).first(27)));
}

TEST(common_ipv4_view, fields_and_checksum) {
    const bytes packet = cat({ipv4_header(ip_protocol::udp, 4, 0x4000), hex("01020304")});
    const auto ip = ipv4_view::parse(packet);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->header_length(), 20u);
    EXPECT_EQ(ip->total_length(), 24);
    EXPECT_EQ(ip->identification(), 0x1234);
    EXPECT_TRUE(ip->dont_fragment());
    EXPECT_FALSE(ip->more_fragments());
    EXPECT_FALSE(ip->is_fragment());
    EXPECT_EQ(ip->fragment_offset(), 0);
    EXPECT_EQ(ip->ttl(), 64);
    EXPECT_EQ(ip->protocol(), ip_protocol::udp);
    EXPECT_EQ(ip->src().to_string(), "10.0.0.1");
    EXPECT_EQ(ip->dst().to_string(), "10.0.0.10");
    EXPECT_TRUE(ip->header_checksum_valid());
    EXPECT_EQ(ip->payload().size(), 4u);
    EXPECT_TRUE(ip->l4_payload());
    EXPECT_TRUE(ip->options().empty());

    bytes corrupted = packet;
    corrupted[8] = 1;  // TTL changed without fixing the checksum
    EXPECT_FALSE(ipv4_view::parse(corrupted)->header_checksum_valid());
}

TEST(common_ipv4_view, trims_ethernet_padding) {
    const bytes packet = cat({ipv4_header(ip_protocol::tcp, 2), hex("aabb 000000000000")});
    const auto ip = ipv4_view::parse(packet);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->payload().size(), 2u);
    EXPECT_EQ(ip->bytes().size(), 22u);
}

TEST(common_ipv4_view, validates_version_ihl_and_lengths) {
    const bytes good = cat({ipv4_header(ip_protocol::tcp, 4), hex("00000000")});
    bytes b = good;
    b[0] = 0x65;  // version 6
    EXPECT_FALSE(ipv4_view::parse(b));
    b = good;
    b[0] = 0x44;  // IHL 4 < 5
    EXPECT_FALSE(ipv4_view::parse(b));
    b = good;
    b[0] = 0x46;  // IHL 6 = 24 bytes: fits the 24-byte total length
    EXPECT_TRUE(ipv4_view::parse(b));
    b[0] = 0x47;  // IHL 7 = 28 bytes > total length 24
    EXPECT_FALSE(ipv4_view::parse(b));
    b = good;
    b[3] = 25;  // total length beyond the buffer
    EXPECT_FALSE(ipv4_view::parse(b));
    b[3] = 19;  // total length below the header
    EXPECT_FALSE(ipv4_view::parse(b));
    EXPECT_FALSE(ipv4_view::parse(std::span(good).first(19)));
}

TEST(common_ipv4_view, fragments_after_the_first_have_no_l4) {
    const bytes first = cat({ipv4_header(ip_protocol::tcp, 8, 0x2000), bytes(8)});
    const auto f1 = ipv4_view::parse(first);
    ASSERT_TRUE(f1);
    EXPECT_TRUE(f1->more_fragments());
    EXPECT_TRUE(f1->is_fragment());
    EXPECT_TRUE(f1->l4_payload());

    const bytes later = cat({ipv4_header(ip_protocol::tcp, 8, 0x0003), bytes(8)});
    const auto f2 = ipv4_view::parse(later);
    ASSERT_TRUE(f2);
    EXPECT_EQ(f2->fragment_offset(), 3);
    EXPECT_TRUE(f2->is_fragment());
    EXPECT_FALSE(f2->l4_payload());
    const bytes frame = cat({eth_ipv4, later});
    const auto parsed = parse_frame(frame);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->ipv4);
    EXPECT_FALSE(parsed->tcp);
}

// IPv6 10.. fd00::1 -> fd00::a with `next` and `payload`.
bytes ipv6_packet(std::uint8_t next, const bytes& payload) {
    const auto n = static_cast<std::uint16_t>(payload.size());
    bytes h = cat({hex("6abcdef0"),
                   {static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n), next, 64},
                   hex("fd000000000000000000000000000001 fd00000000000000000000000000000a")});
    return cat({h, payload});
}

TEST(common_ipv6_view, fixed_header_fields) {
    // Views borrow the bytes: keep the packet alive as long as the view.
    const bytes packet = ipv6_packet(ip_protocol::udp, hex("0102030405060708"));
    const auto ip = ipv6_view::parse(packet);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->traffic_class(), 0xab);
    EXPECT_EQ(ip->flow_label(), 0xcdef0U);
    EXPECT_EQ(ip->payload_length(), 8);
    EXPECT_EQ(ip->next_header(), ip_protocol::udp);
    EXPECT_EQ(ip->hop_limit(), 64);
    EXPECT_EQ(ip->src().to_string(), "fd00::1");
    EXPECT_EQ(ip->dst().to_string(), "fd00::a");
    EXPECT_EQ(ip->l4_protocol(), ip_protocol::udp);
    EXPECT_EQ(ip->l4_payload()->size(), 8u);
    EXPECT_FALSE(ip->is_fragment());
}

TEST(common_ipv6_view, validates_version_and_payload_length) {
    bytes p = ipv6_packet(ip_protocol::udp, bytes(8));
    p[0] = 0x4a;
    EXPECT_FALSE(ipv6_view::parse(p));
    p = ipv6_packet(ip_protocol::udp, bytes(8));
    p[5] = 9;  // one more than present
    EXPECT_FALSE(ipv6_view::parse(p));
    p.push_back(0);
    p.push_back(0);  // padding is trimmed
    EXPECT_EQ(ipv6_view::parse(p)->payload().size(), 9u);
    EXPECT_FALSE(ipv6_view::parse(bytes(39, 0x60)));
}

TEST(common_ipv6_view, walks_extension_headers_to_the_upper_layer) {
    // hop-by-hop (8 bytes) -> routing (16 bytes) -> destination options (8) -> TCP
    const bytes chain = cat({hex("2b00 010400000000"), hex("3c01 0000000000000000000000000000"),
                             hex("0600 010400000000"), hex("aaaa")});
    const bytes packet = ipv6_packet(ip_protocol::hop_by_hop, chain);
    const auto ip = ipv6_view::parse(packet);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->l4_protocol(), ip_protocol::tcp);
    EXPECT_EQ(ip->l4_payload()->size(), 2u);
}

TEST(common_ipv6_view, fragment_header) {
    // First fragment (offset 0, M set): the upper layer is there.
    const bytes first_packet =
        ipv6_packet(ip_protocol::fragment, hex("1100 0001 00000007 aaaaaaaaaaaaaaaa"));
    const auto first = ipv6_view::parse(first_packet);
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->is_fragment());
    EXPECT_EQ(first->l4_protocol(), ip_protocol::udp);
    // Offset 1 (8 bytes): the middle of a datagram, no upper layer.
    const bytes later_packet =
        ipv6_packet(ip_protocol::fragment, hex("1100 0008 00000007 aaaaaaaaaaaaaaaa"));
    const auto later = ipv6_view::parse(later_packet);
    ASSERT_TRUE(later);
    EXPECT_TRUE(later->is_fragment());
    EXPECT_FALSE(later->l4_protocol());
    EXPECT_FALSE(later->l4_payload());
}

TEST(common_ipv6_view, bad_chains_have_no_upper_layer_but_still_parse) {
    // Truncated hop-by-hop (claims 16 bytes, 8 present).
    bytes packet = ipv6_packet(ip_protocol::hop_by_hop, hex("0601 010400000000"));
    auto ip = ipv6_view::parse(packet);
    ASSERT_TRUE(ip);
    EXPECT_FALSE(ip->l4_protocol());
    // No next header.
    packet = ipv6_packet(ip_protocol::no_next_header, bytes(4));
    ip = ipv6_view::parse(packet);
    ASSERT_TRUE(ip);
    EXPECT_FALSE(ip->l4_protocol());
    // Nine destination-options headers: more than the walk allows.
    bytes chain;
    for (int i = 0; i < 9; ++i) chain = cat({chain, hex("3c00 010400000000")});
    chain[chain.size() - 8] = ip_protocol::tcp;
    packet = ipv6_packet(ip_protocol::destination_options, chain);
    ip = ipv6_view::parse(packet);
    ASSERT_TRUE(ip);
    EXPECT_FALSE(ip->l4_protocol());
    // Eight are fine.
    chain.erase(chain.begin(), chain.begin() + 8);
    packet = ipv6_packet(ip_protocol::destination_options, chain);
    ip = ipv6_view::parse(packet);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->l4_protocol(), ip_protocol::tcp);
}

const bytes tcp_syn =
    hex("a8ca 0050 01020304 00000000 a0 c2 faf0 0000 0000"  // doff 10, SYN|ECE|CWR
        "020405b4 0402 080a0000000100000000 01 030307");

TEST(common_tcp_view, fields_and_flags) {
    const auto tcp = tcp_view::parse(tcp_syn);
    ASSERT_TRUE(tcp);
    EXPECT_EQ(tcp->src_port(), 43210);
    EXPECT_EQ(tcp->dst_port(), 80);
    EXPECT_EQ(tcp->seq(), 0x01020304U);
    EXPECT_EQ(tcp->ack_number(), 0U);
    EXPECT_EQ(tcp->header_length(), 40u);
    EXPECT_TRUE(tcp->syn());
    EXPECT_TRUE(tcp->ece());
    EXPECT_TRUE(tcp->cwr());
    EXPECT_FALSE(tcp->ack());
    EXPECT_FALSE(tcp->rst());
    EXPECT_FALSE(tcp->fin());
    EXPECT_FALSE(tcp->psh());
    EXPECT_FALSE(tcp->urg());
    EXPECT_TRUE(tcp->is_syn_only());
    EXPECT_EQ(tcp->window(), 64240);
    EXPECT_EQ(tcp->urgent_pointer(), 0);
    EXPECT_EQ(tcp->raw_options().size(), 20u);
    EXPECT_TRUE(tcp->payload().empty());
}

TEST(common_tcp_view, validates_data_offset) {
    bytes b = tcp_syn;
    b[12] = 0x40;  // 16 bytes < 20
    EXPECT_FALSE(tcp_view::parse(b));
    b[12] = 0xb0;  // 44 bytes > 40 present
    EXPECT_FALSE(tcp_view::parse(b));
    b[12] = 0x50;  // 20: the option bytes become payload
    ASSERT_TRUE(tcp_view::parse(b));
    EXPECT_EQ(tcp_view::parse(b)->payload().size(), 20u);
    EXPECT_FALSE(tcp_view::parse(std::span(tcp_syn).first(19)));
}

TEST(common_tcp_view, checksum_over_both_pseudo_headers) {
    bytes segment = tcp_syn;
    const ip_address v4a = ipv4_address(10, 0, 0, 1);
    const ip_address v4b = ipv4_address(10, 0, 0, 10);
    std::uint16_t sum = transport_checksum(v4a, v4b, ip_protocol::tcp, segment);
    segment[16] = static_cast<std::uint8_t>(sum >> 8);
    segment[17] = static_cast<std::uint8_t>(sum);
    EXPECT_TRUE(tcp_view::parse(segment)->checksum_valid(v4a, v4b));
    // Swapping src and dst gives the same sum; another address does not.
    EXPECT_TRUE(tcp_view::parse(segment)->checksum_valid(v4b, v4a));
    EXPECT_FALSE(tcp_view::parse(segment)->checksum_valid(v4a, ipv4_address(10, 0, 0, 11)));

    const ip_address v6a = *ipv6_address::parse("fd00::1");
    const ip_address v6b = *ipv6_address::parse("fd00::a");
    EXPECT_FALSE(tcp_view::parse(segment)->checksum_valid(v6a, v6b));
    EXPECT_FALSE(tcp_view::parse(segment)->checksum_valid(v4a, v6b));  // mixed families
    segment[16] = 0;
    segment[17] = 0;
    sum = transport_checksum(v6a, v6b, ip_protocol::tcp, segment);
    segment[16] = static_cast<std::uint8_t>(sum >> 8);
    segment[17] = static_cast<std::uint8_t>(sum);
    EXPECT_TRUE(tcp_view::parse(segment)->checksum_valid(v6a, v6b));
}

TEST(common_udp_view, fields_length_and_checksum) {
    const ip_address src = ipv4_address(10, 0, 0, 1);
    const ip_address dst = ipv4_address(10, 0, 0, 10);
    const bytes datagram = hex("14e9 0035 000f 748b 12347175657279 0000");  // + padding
    const auto udp = udp_view::parse(datagram);
    ASSERT_TRUE(udp);
    EXPECT_EQ(udp->src_port(), 5353);
    EXPECT_EQ(udp->dst_port(), 53);
    EXPECT_EQ(udp->length(), 15);
    EXPECT_EQ(udp->payload().size(), 7u);
    EXPECT_TRUE(udp->checksum_valid(src, dst));
    EXPECT_FALSE(udp->checksum_valid(src, ipv4_address(10, 0, 0, 11)));

    bytes no_sum = datagram;
    no_sum[6] = 0;
    no_sum[7] = 0;
    EXPECT_TRUE(udp_view::parse(no_sum)->checksum_valid(src, dst));  // IPv4: not computed
    const ip_address v6 = *ipv6_address::parse("fd00::1");
    EXPECT_FALSE(udp_view::parse(no_sum)->checksum_valid(v6, v6));  // IPv6: mandatory

    bytes b = datagram;
    b[5] = 7;  // length < 8
    EXPECT_FALSE(udp_view::parse(b));
    b[5] = 18;  // length > datagram
    EXPECT_FALSE(udp_view::parse(b));
    EXPECT_FALSE(udp_view::parse(hex("14e90035000f74")));
}

const ipv6_address client6 = *ipv6_address::parse("fd00::1");
const ipv6_address vm6 = *ipv6_address::parse("fd00::a");
const ipv6_address group6 = *ipv6_address::parse("ff02::1:ff00:a");

TEST(common_ndp_view, neighbour_solicitation) {
    bytes ns =
        hex("87 00 0000 00000000 fd00000000000000000000000000000a"
            "01 01 020000000001");
    const std::uint16_t sum = transport_checksum(client6, group6, ip_protocol::icmpv6, ns);
    ns[2] = static_cast<std::uint8_t>(sum >> 8);
    ns[3] = static_cast<std::uint8_t>(sum);
    const auto icmp = icmpv6_view::parse(ns);
    ASSERT_TRUE(icmp);
    EXPECT_EQ(icmp->type(), icmpv6_type::neighbor_solicitation);
    EXPECT_EQ(icmp->code(), 0);
    EXPECT_TRUE(icmp->checksum_valid(client6, group6));
    EXPECT_FALSE(icmp->checksum_valid(vm6, group6));
    const auto ndp = ndp_view::parse(*icmp);
    ASSERT_TRUE(ndp);
    EXPECT_TRUE(ndp->is_solicitation());
    EXPECT_EQ(ndp->target(), vm6);
    EXPECT_EQ(ndp->source_link_layer()->to_string(), "02:00:00:00:00:01");
    EXPECT_FALSE(ndp->target_link_layer());
    EXPECT_FALSE(ndp->solicited_flag());
}

TEST(common_ndp_view, neighbour_advertisement_flags_and_options) {
    // An unknown option (type 14, 8 bytes) before the target link-layer option.
    const bytes na =
        hex("88 00 0000 e0000000 fd00000000000000000000000000000a"
            "0e01 000000000000 02 01 02000000000a");
    const auto ndp = ndp_view::parse(*icmpv6_view::parse(na));
    ASSERT_TRUE(ndp);
    EXPECT_TRUE(ndp->is_advertisement());
    EXPECT_TRUE(ndp->router_flag());
    EXPECT_TRUE(ndp->solicited_flag());
    EXPECT_TRUE(ndp->override_flag());
    EXPECT_EQ(ndp->target_link_layer()->to_string(), "02:00:00:00:00:0a");
    EXPECT_FALSE(ndp->source_link_layer());
}

TEST(common_ndp_view, rejects_malformed_messages) {
    const std::string na = "88 00 0000 60000000 fd00000000000000000000000000000a";
    EXPECT_TRUE(ndp_view::parse(*icmpv6_view::parse(hex(na))));
    EXPECT_FALSE(ndp_view::parse(*icmpv6_view::parse(hex(na + "02 00 02000000000a"))));  // len 0
    EXPECT_FALSE(ndp_view::parse(*icmpv6_view::parse(hex(na + "02 02 02000000000a"))));  // past end
    EXPECT_FALSE(ndp_view::parse(*icmpv6_view::parse(hex(na + "02"))));  // half an option
    EXPECT_FALSE(ndp_view::parse(*icmpv6_view::parse(hex("88 01" + na.substr(5)))));  // code 1
    EXPECT_FALSE(ndp_view::parse(*icmpv6_view::parse(hex(na.substr(0, na.size() - 2)))));
    EXPECT_FALSE(ndp_view::parse(*icmpv6_view::parse(hex("80 00 0000 00000000"))));  // echo
    EXPECT_FALSE(icmpv6_view::parse(hex("880000")));
}

TEST(common_parse_frame, layers_of_each_kind) {
    const bytes udp = hex("14e9 0035 000f 748b 12347175657279");
    bytes frame = cat({eth_ipv4, ipv4_header(ip_protocol::udp, udp.size()), udp});
    auto f = parse_frame(frame);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->ipv4);
    EXPECT_TRUE(f->udp);
    EXPECT_FALSE(f->tcp || f->arp || f->ipv6 || f->icmpv6 || f->ndp);
    EXPECT_EQ(f->src_ip(), ip_address(ipv4_address(10, 0, 0, 1)));
    EXPECT_EQ(f->dst_ip(), ip_address(ipv4_address(10, 0, 0, 10)));

    frame = cat({eth_ipv4, ipv4_header(ip_protocol::tcp, tcp_syn.size()), tcp_syn});
    f = parse_frame(frame);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->tcp);

    // A truncated TCP header: IPv4 yes, TCP no.
    frame = cat({eth_ipv4, ipv4_header(ip_protocol::tcp, 10), bytes(10)});
    f = parse_frame(frame);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->ipv4);
    EXPECT_FALSE(f->tcp);

    // ICMPv6 is only looked for inside IPv6.
    frame = cat({eth_ipv4, ipv4_header(ip_protocol::icmpv6, 4), hex("80000000")});
    f = parse_frame(frame);
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->icmpv6);

    // Unknown ethertype: Ethernet only.
    frame = hex("02000000000a 020000000001 88cc 0000");
    f = parse_frame(frame);
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->arp || f->ipv4 || f->ipv6);
    EXPECT_FALSE(f->src_ip());

    EXPECT_FALSE(parse_frame(hex("02000000000a")));
}

}  // namespace
}  // namespace jitsu::packet
