// The /synjitsu/booting/<ip> value (contract C3): a bare MAC, replay=host with ports=
// hints, unknown keys ignored, everything malformed rejected; format round-trips.

#include "common/booting_value.h"

#include <gtest/gtest.h>

#include <string>

namespace jitsu {
namespace {

const mac_address vm_mac = *mac_address::parse("02:00:0a:00:00:0a");

booting_value ok(std::string_view text) {
    auto r = parse_booting_value(text);
    if (auto* e = std::get_if<booting_value_error>(&r)) {
        ADD_FAILURE() << "'" << text << "' rejected: " << e->reason;
        return {};
    }
    return std::get<booting_value>(r);
}

bool rejected(std::string_view text) {
    return std::holds_alternative<booting_value_error>(parse_booting_value(text));
}

TEST(common_booting_value, bare_mac_is_guest_replay) {
    const auto v = ok("02:00:0a:00:00:0a");
    EXPECT_EQ(v.mac, vm_mac);
    EXPECT_EQ(v.replay, replay_mode::guest);
    EXPECT_TRUE(v.ports.empty());
    // As jitsu-dns has always written it, and from a shell (trailing newline).
    EXPECT_EQ(ok("02:00:0A:00:00:0A\n").mac, vm_mac);
    EXPECT_EQ(ok("  02-00-0a-00-00-0a ").mac, vm_mac);
}

TEST(common_booting_value, host_replay_with_and_without_ports) {
    const auto a = ok("02:00:0a:00:00:0a replay=host");
    EXPECT_EQ(a.replay, replay_mode::host);
    EXPECT_TRUE(a.ports.empty());
    const auto b = ok("02:00:0a:00:00:0a replay=host ports=80");
    EXPECT_EQ(b.ports, (std::vector<std::uint16_t>{80}));
    const auto c = ok("02:00:0a:00:00:0a replay=host ports=80+443");
    EXPECT_EQ(c.ports, (std::vector<std::uint16_t>{80, 443}));
    // Keys in any order; a repeated port counts once; explicit guest replay.
    const auto d = ok("02:00:0a:00:00:0a ports=443+80+443 replay=host");
    EXPECT_EQ(d.replay, replay_mode::host);
    EXPECT_EQ(d.ports, (std::vector<std::uint16_t>{443, 80}));
    EXPECT_EQ(ok("02:00:0a:00:00:0a replay=guest").replay, replay_mode::guest);
    EXPECT_EQ(ok("02:00:0a:00:00:0a ports=1+65535 replay=host").ports,
              (std::vector<std::uint16_t>{1, 65535}));
    EXPECT_EQ(ok("02:00:0a:00:00:0a replay=host ports=1+2+3+4+5+6+7+8").ports.size(), 8U);
}

TEST(common_booting_value, unknown_keys_are_ignored) {
    const auto v = ok("02:00:0a:00:00:0a replay=host probe_ms=5 ports=80 x-future=a=b");
    EXPECT_EQ(v.replay, replay_mode::host);
    EXPECT_EQ(v.ports, (std::vector<std::uint16_t>{80}));
    EXPECT_EQ(ok("02:00:0a:00:00:0a weight=").replay, replay_mode::guest);
}

TEST(common_booting_value, malformed_values_are_rejected) {
    for (const char* bad : {
             "",
             "   ",
             "not-a-mac",
             "01:00:5e:00:00:01",               // multicast
             "00:00:00:00:00:00",               // zero
             "02:00:0a:00:00:0a  replay=host",  // two spaces
             "02:00:0a:00:00:0a\treplay=host",  // tab inside
             "02:00:0a:00:00:0a replay",        // not key=value
             "02:00:0a:00:00:0a =host",         // empty key
             "02:00:0a:00:00:0a Replay=host",   // keys are lowercase
             "02:00:0a:00:00:0a replay=hosts",
             "02:00:0a:00:00:0a replay=",
             "02:00:0a:00:00:0a replay=host replay=host",
             "02:00:0a:00:00:0a replay=host ports=",
             "02:00:0a:00:00:0a replay=host ports=0",
             "02:00:0a:00:00:0a replay=host ports=65536",
             "02:00:0a:00:00:0a replay=host ports=080",
             "02:00:0a:00:00:0a replay=host ports=+80",
             "02:00:0a:00:00:0a replay=host ports=80+",
             "02:00:0a:00:00:0a replay=host ports=80,443",
             "02:00:0a:00:00:0a replay=host ports=-80",
             "02:00:0a:00:00:0a replay=host ports=1+2+3+4+5+6+7+8+9",
             "02:00:0a:00:00:0a replay=host ports=80 ports=443",
             "02:00:0a:00:00:0a replay=host ports=80 foo",
         }) {
        EXPECT_TRUE(rejected(bad)) << "'" << bad << "' accepted";
    }
    // Trailing whitespace is the shell's, not an empty token.
    EXPECT_EQ(ok("02:00:0a:00:00:0a replay=host \n").replay, replay_mode::host);
    // Bounded length.
    std::string long_value = "02:00:0a:00:00:0a replay=host x=";
    long_value.append(max_booting_value_length, 'a');
    EXPECT_TRUE(rejected(long_value));
}

TEST(common_booting_value, format_round_trips) {
    booting_value v;
    v.mac = vm_mac;
    EXPECT_EQ(format_booting_value(v), "02:00:0a:00:00:0a");
    v.ports = {80};  // hints without host replay mean nothing: not written
    EXPECT_EQ(format_booting_value(v), "02:00:0a:00:00:0a");
    v.replay = replay_mode::host;
    v.ports.clear();
    EXPECT_EQ(format_booting_value(v), "02:00:0a:00:00:0a replay=host");
    v.ports = {80, 443};
    EXPECT_EQ(format_booting_value(v), "02:00:0a:00:00:0a replay=host ports=80+443");
    EXPECT_EQ(ok(format_booting_value(v)), v);
}

}  // namespace
}  // namespace jitsu
