// Pure pieces of jitsu-netvm: interface naming and the on-link test.
#include <gtest/gtest.h>

#include "guest/netvm.h"
#include "guest/rtnl.h"

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

}  // namespace
}  // namespace jitsu::guest
