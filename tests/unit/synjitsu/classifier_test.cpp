// The classifier's golden table: {description, frame, expected verdict, reason}, one
// row per behaviour (Katran's fixture style), run by one parameterised test.
#include "synjitsu/classifier.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "frames.h"

namespace jitsu::synjitsu {
namespace {

using test::bytes;

struct golden {
    std::string description;
    std::function<bytes()> frame;
    verdict expected;
    reason why;
};

// The table every row is classified against: VM 10.0.0.10 and fd00::10 booting,
// 10.0.0.30 already managed.
booting_table make_table() {
    booting_table t;
    t.upsert(test::vm_ip, test::vm_mac, vm_source::command_line, 0);
    t.upsert(test::vm6_ip, test::vm_mac, vm_source::command_line, 0);
    t.upsert(*ip_address::parse("10.0.0.30"), *mac_address::parse("02:00:00:00:00:30"),
             vm_source::xenstore, 0);
    t.set_state(*ip_address::parse("10.0.0.30"), vm_state::managed);
    // A host-replay probe in flight from 10.0.0.1:50000 to the VM's port 80.
    t.exclude({test::vm_ip, 80, *ip_address::parse("10.0.0.1"), 50000});
    return t;
}

bytes truncated(bytes b, std::size_t n) {
    b.resize(n);
    return b;
}

const std::vector<golden>& table() {
    using test::syn_spec;
    static const std::vector<golden> rows = {
        {"SYN to a booting IPv4", [] { return test::tcp_frame({}); }, verdict::syn, reason::none},
        {"SYN without options", [] { return test::tcp_frame({.options = {}}); }, verdict::syn,
         reason::none},
        {"SYN over IPv6 to a booting IP",
         [] { return test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip}); },
         verdict::syn, reason::none},
        {"SYN of synjitsu's own host-replay probe",
         [] { return test::tcp_frame({.src = *ip_address::parse("10.0.0.1"), .sport = 50000}); },
         verdict::ignore, reason::own_probe},
        {"SYN from the probe's port on another address is a client's",
         [] { return test::tcp_frame({.sport = 50000}); }, verdict::syn, reason::none},
        {"SYN from the probe's address to another port is a client's",
         [] {
             return test::tcp_frame(
                 {.src = *ip_address::parse("10.0.0.1"), .sport = 50000, .dport = 443});
         },
         verdict::syn, reason::none},
        {"SYN to an IP not booting", [] { return test::tcp_frame({.dst = test::other_ip}); },
         verdict::ignore, reason::not_booting},
        {"SYN to a managed VM",
         [] { return test::tcp_frame({.dst = *ip_address::parse("10.0.0.30")}); }, verdict::ignore,
         reason::inactive},
        {"SYN/ACK to a booting IP", [] { return test::tcp_frame({.flags = 0x12}); },
         verdict::ignore, reason::not_interesting},
        {"plain ACK", [] { return test::tcp_frame({.flags = 0x10, .options = {}}); },
         verdict::ignore, reason::not_interesting},
        {"RST", [] { return test::tcp_frame({.flags = 0x04, .options = {}}); }, verdict::ignore,
         reason::not_interesting},
        {"SYN with ECN flags (ECE|CWR) is still a SYN",
         [] { return test::tcp_frame({.flags = 0xc2}); }, verdict::syn, reason::none},
        {"UDP to a booting IP", [] { return test::udp_frame(test::client_ip, test::vm_ip); },
         verdict::ignore, reason::not_interesting},
        {"ARP who-has a booting IP",
         [] { return test::arp_request(test::client_mac, test::client_ip, test::vm_ip); },
         verdict::arp_request, reason::none},
        {"ARP probe from another host (sender 0.0.0.0)",
         [] {
             return test::arp_request(test::client_mac, *ip_address::parse("0.0.0.0"), test::vm_ip);
         },
         verdict::arp_request, reason::none},
        {"ARP probe from the VM itself",
         [] { return test::arp_request(test::vm_mac, *ip_address::parse("0.0.0.0"), test::vm_ip); },
         verdict::ignore, reason::from_vm},
        {"ARP who-has an IP not booting",
         [] { return test::arp_request(test::client_mac, test::client_ip, test::other_ip); },
         verdict::ignore, reason::not_booting},
        {"ARP who-has a managed VM",
         [] {
             return test::arp_request(test::client_mac, test::client_ip,
                                      *ip_address::parse("10.0.0.30"));
         },
         verdict::ignore, reason::inactive},
        {"ARP reply to the VM",
         [] {
             return test::arp_reply_frame(test::client_mac, test::client_ip, test::vm_mac,
                                          test::vm_ip);
         },
         verdict::ignore, reason::not_interesting},
        {"the VM's own gratuitous ARP",
         [] { return test::gratuitous_arp(test::vm_mac, test::vm_ip); }, verdict::vm_announce,
         reason::none},
        {"the VM asking for its gateway (it is up)",
         [] {
             return test::arp_request(test::vm_mac, test::vm_ip, *ip_address::parse("10.0.0.1"));
         },
         verdict::vm_announce, reason::none},
        {"a gratuitous ARP for the VM's IP from another MAC",
         [] { return test::gratuitous_arp(test::client_mac, test::vm_ip); }, verdict::arp_request,
         reason::none},
        {"NS for a booting IPv6",
         [] {
             return test::neighbor_solicitation(test::client_mac, test::client6_ip, test::vm6_ip);
         },
         verdict::neighbor_solicitation, reason::none},
        {"NS for duplicate address detection from another host",
         [] {
             return test::neighbor_solicitation(test::client_mac, *ip_address::parse("::"),
                                                test::vm6_ip);
         },
         verdict::neighbor_solicitation, reason::none},
        {"the VM's own DAD NS",
         [] {
             return test::neighbor_solicitation(test::vm_mac, *ip_address::parse("::"),
                                                test::vm6_ip);
         },
         verdict::ignore, reason::from_vm},
        {"NS with hop limit 64 (RFC 4861 drops it)",
         [] {
             return test::neighbor_solicitation(test::client_mac, test::client6_ip, test::vm6_ip,
                                                64);
         },
         verdict::malformed, reason::bad_icmpv6},
        {"NS for an IPv6 not booting",
         [] {
             return test::neighbor_solicitation(test::client_mac, test::client6_ip,
                                                *ip_address::parse("fd00::99"));
         },
         verdict::ignore, reason::not_booting},
        {"the VM's unsolicited NA",
         [] { return test::neighbor_advertisement(test::vm_mac, test::vm6_ip); },
         verdict::vm_announce, reason::none},
        {"an NA for the VM's IP from another host",
         [] { return test::neighbor_advertisement(test::client_mac, test::vm6_ip); },
         verdict::ignore, reason::not_interesting},
        {"empty frame", [] { return bytes{}; }, verdict::malformed, reason::short_frame},
        {"13 bytes", [] { return bytes(13, 0xff); }, verdict::malformed, reason::short_frame},
        {"ARP cut short",
         [] {
             return truncated(test::arp_request(test::client_mac, test::client_ip, test::vm_ip),
                              30);
         },
         verdict::malformed, reason::bad_arp},
        {"IPv4 header cut short", [] { return truncated(test::tcp_frame({}), 14 + 12); },
         verdict::malformed, reason::bad_ipv4},
        {"TCP header cut short (IPv4 total length says more)",
         [] { return truncated(test::tcp_frame({}), 14 + 20 + 10); }, verdict::malformed,
         reason::bad_ipv4},
        {"IPv6 header cut short",
         [] {
             return truncated(test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip}),
                              14 + 20);
         },
         verdict::malformed, reason::bad_ipv6},
        {"TCP data offset beyond the segment",
         [] {
             bytes b = test::tcp_frame({.options = {}});
             b[14 + 20 + 12] = 0xf0;  // data offset 15 words, segment is 20 bytes
             return b;
         },
         verdict::malformed, reason::bad_tcp},
        {"SYN with a malformed option list",
         [] {
             bytes b = test::tcp_frame({.options = {packet::tcp_option::make_mss(1460)}});
             b[14 + 20 + 21] = 9;  // MSS length 9: past the header
             return b;
         },
         verdict::malformed, reason::bad_tcp_options},
        // VLANs: synjitsu serves untagged frames only (README "VLANs"): whatever the tag
        // carries, and however many tags, it is ignored and counted.
        {"802.1Q-tagged SYN to a booting IP",
         [] { return test::tagged(test::tcp_frame({}), 0x8100, 5); }, verdict::ignore,
         reason::vlan_tagged},
        {"priority-tagged (VID 0) SYN to a booting IP",
         [] { return test::tagged(test::tcp_frame({}), 0x8100, 0xa000); }, verdict::ignore,
         reason::vlan_tagged},
        {"802.1Q-tagged ARP who-has a booting IP",
         [] {
             return test::tagged(test::arp_request(test::client_mac, test::client_ip, test::vm_ip),
                                 0x8100, 5);
         },
         verdict::ignore, reason::vlan_tagged},
        {"802.1Q-tagged NS for a booting IPv6",
         [] {
             return test::tagged(
                 test::neighbor_solicitation(test::client_mac, test::client6_ip, test::vm6_ip),
                 0x8100, 5);
         },
         verdict::ignore, reason::vlan_tagged},
        {"802.1Q-tagged gratuitous ARP of the VM",
         [] { return test::tagged(test::gratuitous_arp(test::vm_mac, test::vm_ip), 0x8100, 5); },
         verdict::ignore, reason::vlan_tagged},
        {"QinQ (802.1ad + 802.1Q) SYN to a booting IP",
         [] { return test::tagged(test::tagged(test::tcp_frame({}), 0x8100, 5), 0x88a8, 7); },
         verdict::ignore, reason::vlan_tagged},
        {"QinQ (802.1Q + 802.1Q) ARP who-has a booting IP",
         [] {
             return test::tagged(
                 test::tagged(test::arp_request(test::client_mac, test::client_ip, test::vm_ip),
                              0x8100, 5),
                 0x8100, 7);
         },
         verdict::ignore, reason::vlan_tagged},
        {"QinQ (0x9100 + 802.1Q) SYN to a booting IP",
         [] { return test::tagged(test::tagged(test::tcp_frame({}), 0x8100, 5), 0x9100, 7); },
         verdict::ignore, reason::vlan_tagged},
        {"802.1ad S-tag alone on an ARP request",
         [] {
             return test::tagged(test::arp_request(test::client_mac, test::client_ip, test::vm_ip),
                                 0x88a8, 7);
         },
         verdict::ignore, reason::vlan_tagged},
        // IPv6 extension headers before the upper layer are walked.
        {"IPv6 SYN after a hop-by-hop header",
         [] {
             return test::with_ipv6_extension(
                 test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip}), 0);
         },
         verdict::syn, reason::none},
        {"IPv6 SYN after a destination-options header",
         [] {
             return test::with_ipv6_extension(
                 test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip}), 60);
         },
         verdict::syn, reason::none},
        {"IPv6 SYN in an atomic fragment",
         [] {
             return test::with_ipv6_extension(
                 test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip}), 44);
         },
         verdict::syn, reason::none},
        {"unknown ethertype",
         [] {
             bytes b = test::tcp_frame({});
             b[12] = 0x88;
             b[13] = 0xcc;
             return b;
         },
         verdict::ignore, reason::not_interesting},
    };
    return rows;
}

class classifier_golden : public ::testing::TestWithParam<std::size_t> {};

TEST_P(classifier_golden, verdict_and_reason) {
    const golden& g = table()[GetParam()];
    const booting_table t = make_table();
    const bytes frame = g.frame();
    const classification c = classify(frame, t);
    EXPECT_EQ(to_string(c.kind), std::string(to_string(g.expected))) << g.description;
    EXPECT_EQ(to_string(c.why), std::string(to_string(g.why))) << g.description;
    const bool acting = g.expected != verdict::ignore && g.expected != verdict::malformed;
    EXPECT_EQ(c.vm != booting_table::npos, acting) << g.description;
}

INSTANTIATE_TEST_SUITE_P(synjitsu, classifier_golden,
                         ::testing::Range<std::size_t>(0, table().size()),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                             std::string name;
                             for (char ch : table()[info.param].description) {
                                 name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             }
                             return std::to_string(info.param) + "_" + name;
                         });

TEST(synjitsu_classifier, every_prefix_of_valid_frames_is_safe) {
    const booting_table t = make_table();
    for (const auto& g : table()) {
        const bytes frame = g.frame();
        for (std::size_t n = 0; n <= frame.size(); ++n) {
            const bytes cut(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
            (void)classify(cut, t);  // must not crash or read out of bounds (ASan)
        }
    }
}

}  // namespace
}  // namespace jitsu::synjitsu
