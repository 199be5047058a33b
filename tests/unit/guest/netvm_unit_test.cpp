// Pure pieces of jitsu-netvm: interface naming and the on-link test.
#include <gtest/gtest.h>

#include "common/packet/frame.h"
#include "common/replay_frame.h"
#include "guest/netvm.h"
#include "guest/rtnl.h"
#include "guest_test_support.h"

namespace jitsu::guest {
namespace {

TEST(guest_netvm, outer_interface_names_fit_ifnamsiz) {
    EXPECT_EQ(outer_interface_name("www"), "vm-www");
    EXPECT_EQ(outer_interface_name("abcdefghijkl"), "vm-abcdefghijkl");
    const auto long1 = outer_interface_name("a-very-long-vm-name-1");
    const auto long2 = outer_interface_name("a-very-long-vm-name-2");
    EXPECT_LE(long1.size(), 15U);
    EXPECT_NE(long1, long2);
    EXPECT_EQ(long1.rfind("vm-a-very", 0), 0U);
}

TEST(guest_netvm, same_subnet) {
    auto ip = [](const char* s) { return *ip_address::parse(s); };
    EXPECT_TRUE(same_subnet(ip("10.0.0.10"), ip("10.0.0.2"), 24));
    EXPECT_FALSE(same_subnet(ip("10.0.0.10"), ip("10.0.1.2"), 24));
    EXPECT_TRUE(same_subnet(ip("10.0.0.10"), ip("10.0.1.2"), 16));
    EXPECT_TRUE(same_subnet(ip("10.0.0.10"), ip("192.168.0.1"), 0));
    EXPECT_FALSE(same_subnet(ip("10.0.0.10"), ip("10.0.0.11"), 32));
    EXPECT_TRUE(same_subnet(ip("10.0.0.10"), ip("10.0.0.11"), 31));
    EXPECT_FALSE(same_subnet(ip("10.0.0.10"), ip("fd00::1"), 0));
    EXPECT_TRUE(same_subnet(ip("fd00::10"), ip("fd00::2"), 64));
    EXPECT_FALSE(same_subnet(ip("fd00::10"), ip("fd01::2"), 64));
    EXPECT_TRUE(same_subnet(ip("fd00::10"), ip("fd00::11"), 123));
    EXPECT_FALSE(same_subnet(ip("fd00::10"), ip("fd00::11"), 128));
    EXPECT_FALSE(same_subnet(ip("10.0.0.10"), ip("10.0.0.10"), 33));
}

// A SYN captured from a veth carries a partial (offloaded) checksum: the replayed frame
// gets valid IPv4 and TCP checksums and the VM's MAC, nothing else changes.
TEST(guest_netvm, replay_frame_repairs_checksums_and_addresses_the_vm) {
    const auto vm_mac = *mac_address::parse("02:00:00:00:00:0a");
    for (const char* local : {"10.0.0.10", "fd00::10"}) {
        const bool v4 = std::string(local).find(':') == std::string::npos;
        const four_tuple t{*ip_address::parse(local), 80,
                           *ip_address::parse(v4 ? "10.0.0.2" : "fd00::2"), 40000};
        queued_syn syn = testing::make_queued_syn(t, 1);
        const auto good = syn.frame;
        const std::size_t l3 = 14, l4 = v4 ? 34 : 54;
        syn.frame[l4 + 16] ^= 0x5a;  // break the TCP checksum
        syn.frame[l4 + 17] = 0;
        if (v4) syn.frame[l3 + 10] ^= 0xff;                         // and the IPv4 header checksum
        std::fill(syn.frame.begin(), syn.frame.begin() + 6, 0xee);  // some other MAC
        // Ethernet padding after the IP packet is kept and not checksummed.
        syn.frame.resize(syn.frame.size() + 6, 0);
        const auto out = replay_frame(syn, vm_mac);
        ASSERT_TRUE(out.has_value()) << local;
        std::vector<std::uint8_t> expected = good;
        expected.resize(good.size() + 6, 0);
        EXPECT_EQ(*out, expected) << local;
        const auto parsed = packet::parse_frame(*out);
        ASSERT_TRUE(parsed && parsed->tcp);
        EXPECT_TRUE(parsed->tcp->checksum_valid(*parsed->src_ip(), *parsed->dst_ip()));
    }
    queued_syn junk;
    junk.frame = {1, 2, 3};
    EXPECT_FALSE(replay_frame(junk, vm_mac).has_value());
}

}  // namespace
}  // namespace jitsu::guest
