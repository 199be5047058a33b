// Address value types: parse/format round trips, strict rejection, Xenstore forms,
// ordering and hashing.

#include <gtest/gtest.h>

#include <unordered_set>

#include "common/format.h"
#include "common/ip_address.h"
#include "common/ipv4_address.h"
#include "common/ipv6_address.h"
#include "common/mac_address.h"

namespace jitsu {
namespace {

TEST(common_mac_address, parses_colon_and_dash_forms_case_insensitively) {
    const auto expected = mac_address({0xaa, 0xbb, 0xcc, 0x0d, 0xee, 0xff});
    EXPECT_EQ(mac_address::parse("aa:bb:cc:0d:ee:ff"), expected);
    EXPECT_EQ(mac_address::parse("AA:BB:CC:0D:EE:FF"), expected);
    EXPECT_EQ(mac_address::parse("aA-Bb-cC-0d-Ee-fF"), expected);
    EXPECT_EQ(expected.to_string(), "aa:bb:cc:0d:ee:ff");
}

TEST(common_mac_address, round_trips) {
    for (const char* text :
         {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:0a", "01:23:45:67:89:ab"}) {
        const auto m = mac_address::parse(text);
        ASSERT_TRUE(m) << text;
        EXPECT_EQ(m->to_string(), text);
    }
}

TEST(common_mac_address, rejects_malformed_text) {
    for (const char* text :
         {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:", "aa:bb:cc:dd:ee:ff:00", "gg:bb:cc:dd:ee:ff",
          "aa:bb:cc:dd:ee:fg", "aa:bb-cc:dd:ee:ff", "aa.bb.cc.dd.ee.ff", "aabb.ccdd.eeff",
          "a:bb:cc:dd:ee:fff", " aa:bb:cc:dd:ee:f", "aa:bb:cc:dd:ee:f ", "aa::bb:cc:dd:eef",
          "aabbccddeeff"}) {
        EXPECT_FALSE(mac_address::parse(text)) << text;
    }
    EXPECT_THROW(mac_address::parse_or_throw("aa:bb:cc:dd:ee"), std::invalid_argument);
    EXPECT_NO_THROW(mac_address::parse_or_throw("aa:bb:cc:dd:ee:ff"));
}

TEST(common_mac_address, classifies_group_addresses) {
    EXPECT_TRUE(mac_address::broadcast().is_broadcast());
    EXPECT_TRUE(mac_address::broadcast().is_multicast());
    EXPECT_TRUE(mac_address::parse("33:33:ff:00:00:01")->is_multicast());
    EXPECT_TRUE(mac_address::parse("01:00:5e:00:00:01")->is_multicast());
    EXPECT_FALSE(mac_address::parse("02:00:00:00:00:01")->is_multicast());
    EXPECT_FALSE(mac_address::parse("02:00:00:00:00:01")->is_broadcast());
    EXPECT_TRUE(mac_address().is_zero());
}

TEST(common_mac_address, format_to_refuses_short_buffers) {
    char small[16];
    EXPECT_EQ(mac_address::broadcast().format_to(small), 0u);
    char exact[17];
    EXPECT_EQ(mac_address::broadcast().format_to(exact), 17u);
}

TEST(common_mac_address, orders_and_hashes) {
    const auto a = *mac_address::parse("00:00:00:00:00:01");
    const auto b = *mac_address::parse("00:00:00:00:01:00");
    EXPECT_LT(a, b);
    EXPECT_NE(a, b);
    std::unordered_set<mac_address> set{a, b, a};
    EXPECT_EQ(set.size(), 2u);
    EXPECT_EQ(std::hash<mac_address>{}(a),
              std::hash<mac_address>{}(*mac_address::parse("00:00:00:00:00:01")));
}

TEST(common_ipv4_address, parses_and_formats) {
    const auto a = ipv4_address::parse("10.0.0.10");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->to_uint(), 0x0a00000aU);
    EXPECT_EQ(a->to_string(), "10.0.0.10");
    EXPECT_EQ(*a, ipv4_address(10, 0, 0, 10));
    EXPECT_EQ(ipv4_address(0x0a00000aU), *a);
    const std::array<std::uint8_t, 4> bytes{10, 0, 0, 10};
    EXPECT_EQ(a->bytes(), bytes);
    for (const char* text :
         {"0.0.0.0", "255.255.255.255", "1.2.3.4", "192.168.100.200", "10.0.0.1", "100.10.1.0"}) {
        EXPECT_EQ(ipv4_address::parse(text)->to_string(), text);
    }
}

TEST(common_ipv4_address, rejects_malformed_text) {
    for (const char* text :
         {"",         "10.0.0",    "10.0.0.",   "256.1.1.1",  "1.2.3.4x",  "x1.2.3.4", " 1.2.3.4",
          "1.2.3.4 ", "1.2.3.4.5", "1..2.3",    "1.2.3.1000", "1.2.3.-4",  "+1.2.3.4", "01.2.3.4",
          "1.2.3.00", "1-2-3-4",   "0x1.2.3.4", "1.2.3.4\n",  "999.0.0.0", "1.2.3.256"}) {
        EXPECT_FALSE(ipv4_address::parse(text)) << text;
    }
    EXPECT_THROW(ipv4_address::parse_or_throw("10.0.0"), std::invalid_argument);
}

TEST(common_ipv4_address, xenstore_dashed_form) {
    const auto a = *ipv4_address::parse("10.0.0.10");
    EXPECT_EQ(a.to_xenstore(), "10-0-0-10");
    EXPECT_EQ(ipv4_address::from_xenstore("10-0-0-10"), a);
    EXPECT_EQ(ipv4_address::from_xenstore("255-255-255-255"), ipv4_address(0xffffffffU));
    for (const char* text : {"10.0.0.10", "10-0-0", "10-0-0-10-", "10-0-0-256", "010-0-0-10",
                             "10-0-0-10x", "10_0_0_10"}) {
        EXPECT_FALSE(ipv4_address::from_xenstore(text)) << text;
    }
}

TEST(common_ipv4_address, classifies_and_orders) {
    EXPECT_TRUE(ipv4_address().is_unspecified());
    EXPECT_TRUE(ipv4_address(0xffffffffU).is_broadcast());
    EXPECT_TRUE(ipv4_address::parse("224.0.0.1")->is_multicast());
    EXPECT_FALSE(ipv4_address::parse("10.0.0.1")->is_multicast());
    // Numeric, not lexicographic on the text.
    EXPECT_LT(*ipv4_address::parse("9.0.0.0"), *ipv4_address::parse("10.0.0.0"));
    std::unordered_set<ipv4_address> set{ipv4_address(1), ipv4_address(2), ipv4_address(1)};
    EXPECT_EQ(set.size(), 2u);
}

TEST(common_ipv6_address, parses_and_formats) {
    const auto a = ipv6_address::parse("fe80::1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->bytes()[0], 0xfe);
    EXPECT_EQ(a->bytes()[15], 0x01);
    EXPECT_EQ(a->to_string(), "fe80::1");
    EXPECT_EQ(ipv6_address::parse("FD00:0:0:0:0:0:0:A")->to_string(), "fd00::a");
    EXPECT_EQ(ipv6_address::parse("::")->to_string(), "::");
    EXPECT_EQ(ipv6_address::parse("::ffff:10.0.0.1")->to_string(), "::ffff:10.0.0.1");
    EXPECT_TRUE(a->is_link_local());
    EXPECT_TRUE(ipv6_address().is_unspecified());
}

TEST(common_ipv6_address, rejects_malformed_text) {
    for (const char* text :
         {"", ":", "fe80:::1", "fe80::1::2", "1:2:3:4:5:6:7:8:9", "fe80::g", "fe80::1%eth0",
          "10.0.0.1", "12345::", " ::1", "0000000000000000000000000000000000000000000000000::1"}) {
        EXPECT_FALSE(ipv6_address::parse(text)) << text;
    }
    EXPECT_THROW(ipv6_address::parse_or_throw("fe80:::1"), std::invalid_argument);
}

TEST(common_ipv6_address, xenstore_form_is_fully_expanded_lowercase) {
    const auto a = *ipv6_address::parse("fe80::1");
    EXPECT_EQ(a.to_xenstore(), "fe80-0000-0000-0000-0000-0000-0000-0001");
    EXPECT_EQ(ipv6_address::from_xenstore("fe80-0000-0000-0000-0000-0000-0000-0001"), a);
    const auto b = *ipv6_address::parse("2001:db8:abcd:12::ff:fe00:1234");
    EXPECT_EQ(b.to_xenstore(), "2001-0db8-abcd-0012-0000-00ff-fe00-1234");
    EXPECT_EQ(ipv6_address::from_xenstore(b.to_xenstore()), b);
    for (const char* text :
         {"fe80::1", "fe80-0-0-0-0-0-0-1", "FE80-0000-0000-0000-0000-0000-0000-0001",
          "fe80-0000-0000-0000-0000-0000-0000-000g", "fe80-0000-0000-0000-0000-0000-0000-00001",
          "fe80-0000-0000-0000-0000-0000-0000", "fe80:0000:0000:0000:0000:0000:0000:0001",
          "fe80-0000-0000-0000-0000-0000-0000-0001-"}) {
        EXPECT_FALSE(ipv6_address::from_xenstore(text)) << text;
    }
}

TEST(common_ipv6_address, solicited_node_multicast_and_its_mac) {
    const auto a = *ipv6_address::parse("fd00::12:3456:789a");
    const auto group = a.solicited_node_multicast();
    EXPECT_EQ(group.to_string(), "ff02::1:ff56:789a");
    EXPECT_TRUE(group.is_multicast());
    EXPECT_EQ(group.multicast_mac().to_string(), "33:33:ff:56:78:9a");
    EXPECT_EQ(ipv6_address::parse("ff02::1")->multicast_mac().to_string(), "33:33:00:00:00:01");
}

TEST(common_ipv6_address, orders_and_hashes) {
    std::unordered_set<ipv6_address> set;
    for (int i = 0; i < 100; ++i) {
        std::array<std::uint8_t, 16> b{};
        b[15] = static_cast<std::uint8_t>(i);
        set.insert(ipv6_address(b));
        set.insert(ipv6_address(b));
    }
    EXPECT_EQ(set.size(), 100u);
    EXPECT_LT(*ipv6_address::parse("::1"), *ipv6_address::parse("::2"));
}

TEST(common_ip_address, picks_the_family) {
    const auto v4 = ip_address::parse("10.0.0.10");
    ASSERT_TRUE(v4);
    EXPECT_TRUE(v4->is_v4());
    EXPECT_EQ(v4->v4(), ipv4_address(10, 0, 0, 10));
    EXPECT_EQ(v4->if_v6(), nullptr);
    const auto v6 = ip_address::parse("fd00::a");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->is_v6());
    EXPECT_EQ(v6->to_string(), "fd00::a");
    EXPECT_EQ(v6->if_v4(), nullptr);
    EXPECT_FALSE(ip_address::parse("10.0.0"));
    EXPECT_FALSE(ip_address::parse("fd00:::a"));
    EXPECT_FALSE(ip_address::parse(""));
    EXPECT_THROW(ip_address::parse_or_throw("nope"), std::invalid_argument);
    EXPECT_THROW((void)v4->v6(), std::bad_variant_access);
}

TEST(common_ip_address, xenstore_forms_of_both_families) {
    EXPECT_EQ(ip_address::parse("10.0.0.10")->to_xenstore(), "10-0-0-10");
    EXPECT_EQ(ip_address::parse("fe80::1")->to_xenstore(),
              "fe80-0000-0000-0000-0000-0000-0000-0001");
    EXPECT_EQ(ip_address::from_xenstore("10-0-0-10"), ip_address(ipv4_address(10, 0, 0, 10)));
    EXPECT_EQ(ip_address::from_xenstore("fe80-0000-0000-0000-0000-0000-0000-0001"),
              ip_address(*ipv6_address::parse("fe80::1")));
    EXPECT_FALSE(ip_address::from_xenstore("10.0.0.10"));
    EXPECT_FALSE(ip_address::from_xenstore("fe80::1"));
    EXPECT_FALSE(ip_address::from_xenstore(""));
}

TEST(common_ip_address, orders_v4_before_v6_and_hashes) {
    const ip_address v4 = *ip_address::parse("255.255.255.255");
    const ip_address v6 = *ip_address::parse("::");
    EXPECT_LT(v4, v6);
    EXPECT_NE(ip_address(ipv4_address()), ip_address(ipv6_address()));
    // "::" is ipv6_address(): three distinct addresses.
    std::unordered_set<ip_address> set{v4, v6, v4, ip_address(ipv4_address()),
                                       ip_address(ipv6_address())};
    EXPECT_EQ(set.size(), 3u);
}

TEST(common_four_tuple, equality_hash_and_text) {
    const four_tuple a{*ip_address::parse("10.0.0.10"), 80, *ip_address::parse("10.0.0.1"), 43210};
    four_tuple b = a;
    EXPECT_EQ(a, b);
    b.remote_port = 43211;
    EXPECT_NE(a, b);
    std::unordered_set<four_tuple> set{a, b, a};
    EXPECT_EQ(set.size(), 2u);
    EXPECT_EQ(a.to_string(), "10.0.0.10:80<-10.0.0.1:43210");
    const four_tuple v6{*ip_address::parse("fd00::a"), 443, *ip_address::parse("fd00::1"), 1};
    EXPECT_EQ(v6.to_string(), "[fd00::a]:443<-[fd00::1]:1");
    // Swapping the ends is a different connection.
    const four_tuple swapped{a.remote_ip, a.remote_port, a.local_ip, a.local_port};
    EXPECT_NE(a, swapped);
}

TEST(common_format, fmt_formats_addresses) {
    EXPECT_EQ(fmt::format("{}", *mac_address::parse("02:00:00:00:00:0a")), "02:00:00:00:00:0a");
    EXPECT_EQ(fmt::format("{}", ipv4_address(10, 0, 0, 1)), "10.0.0.1");
    EXPECT_EQ(fmt::format("{}", *ipv6_address::parse("fd00::1")), "fd00::1");
    EXPECT_EQ(fmt::format("[{:>10}]", ip_address(ipv4_address(1, 2, 3, 4))), "[   1.2.3.4]");
    EXPECT_EQ(
        fmt::format("{}", four_tuple{ipv4_address(1, 1, 1, 1), 1, ipv4_address(2, 2, 2, 2), 2}),
        "1.1.1.1:1<-2.2.2.2:2");
}

}  // namespace
}  // namespace jitsu
