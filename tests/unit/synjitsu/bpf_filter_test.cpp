// The live capture filters (pcap_live.h) against the classifier: compiled with libpcap
// for Ethernet (pcap_open_dead) and run over crafted frames with pcap_offline_filter, no
// network needed. Every frame the classifier acts on must pass (or live runs would miss
// what offline runs serve), no tagged frame may pass (synjitsu serves untagged frames
// only, in both paths), and the two live captures together pass what the one-handle
// filter passes. IPv6 extension headers: the filter passes the packet, the classifier
// walks the chain (issue 11, item 5).
//
// On a live Linux capture the kernel moves an outer tag out of the frame and libpcap
// compiles "vlan" to a test of that (the ancillary vlan_tag_present); offline (here) it
// tests the frame's own type field. Both reject the tagged frame.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <string>
#include <vector>

#include "frames.h"
#include "synjitsu/classifier.h"
#include "synjitsu/pcap_live.h"

namespace jitsu::synjitsu {
namespace {

using test::bytes;

class compiled_filter {
  public:
    explicit compiled_filter(const char* expression) {
        pcap_ = pcap_open_dead(DLT_EN10MB, 65535);
        ok_ = pcap_ != nullptr &&
              pcap_compile(pcap_, &program_, expression, 1, PCAP_NETMASK_UNKNOWN) == 0;
    }
    ~compiled_filter() {
        if (ok_) pcap_freecode(&program_);
        if (pcap_ != nullptr) pcap_close(pcap_);
    }
    compiled_filter(const compiled_filter&) = delete;
    compiled_filter& operator=(const compiled_filter&) = delete;

    bool ok() const { return ok_; }
    bool passes(const bytes& frame) const {
        pcap_pkthdr header{};
        header.caplen = static_cast<bpf_u_int32>(frame.size());
        header.len = header.caplen;
        return pcap_offline_filter(&program_, &header, frame.data()) != 0;
    }

  private:
    pcap_t* pcap_ = nullptr;
    bpf_program program_{};
    bool ok_ = false;
};

struct sample {
    std::string description;
    bytes frame;
};

bytes v6_syn() { return test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip}); }
bytes arp_who_has() { return test::arp_request(test::client_mac, test::client_ip, test::vm_ip); }
bytes ns() { return test::neighbor_solicitation(test::client_mac, test::client6_ip, test::vm6_ip); }

std::vector<sample> samples() {
    std::vector<sample> s = {
        {"SYN", test::tcp_frame({})},
        {"SYN with ECN flags", test::tcp_frame({.flags = 0xc2})},
        {"IPv6 SYN", v6_syn()},
        {"IPv6 SYN after hop-by-hop", test::with_ipv6_extension(v6_syn(), 0)},
        {"IPv6 SYN after destination options", test::with_ipv6_extension(v6_syn(), 60)},
        {"IPv6 SYN after routing", test::with_ipv6_extension(v6_syn(), 43)},
        {"IPv6 SYN in an atomic fragment", test::with_ipv6_extension(v6_syn(), 44)},
        {"IPv6 SYN after hop-by-hop and fragment",
         test::with_ipv6_extension(test::with_ipv6_extension(v6_syn(), 44), 0)},
        {"ARP who-has", arp_who_has()},
        {"gratuitous ARP of the VM", test::gratuitous_arp(test::vm_mac, test::vm_ip)},
        {"NS", ns()},
        {"NS after hop-by-hop", test::with_ipv6_extension(ns(), 0)},
        {"NA of the VM", test::neighbor_advertisement(test::vm_mac, test::vm6_ip)},
        {"SYN/ACK", test::tcp_frame({.flags = 0x12})},
        {"ACK", test::tcp_frame({.flags = 0x10, .options = {}})},
        {"IPv6 SYN/ACK",
         test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip, .flags = 0x12})},
        {"UDP", test::udp_frame(test::client_ip, test::vm_ip)},
    };
    // Every one of them again behind a tag, two tags (QinQ), and an S-tag.
    const std::size_t untagged = s.size();
    for (std::size_t i = 0; i < untagged; ++i) {
        s.push_back({"802.1Q " + s[i].description, test::tagged(s[i].frame, 0x8100, 5)});
        s.push_back({"priority-tagged " + s[i].description, test::tagged(s[i].frame, 0x8100, 0)});
        s.push_back({"QinQ 802.1ad " + s[i].description,
                     test::tagged(test::tagged(s[i].frame, 0x8100, 5), 0x88a8, 7)});
        s.push_back({"QinQ 802.1Q " + s[i].description,
                     test::tagged(test::tagged(s[i].frame, 0x8100, 5), 0x8100, 7)});
        s.push_back({"QinQ 0x9100 " + s[i].description,
                     test::tagged(test::tagged(s[i].frame, 0x8100, 5), 0x9100, 7)});
    }
    return s;
}

booting_table booting() {
    booting_table t;
    t.upsert(test::vm_ip, test::vm_mac, vm_source::command_line, 0);
    t.upsert(test::vm6_ip, test::vm_mac, vm_source::command_line, 0);
    return t;
}

bool acts(verdict v) { return v != verdict::ignore && v != verdict::malformed; }

TEST(synjitsu_bpf_filter, live_filters_pass_what_the_classifier_serves_and_no_tagged_frame) {
    const compiled_filter duty(duty_filter), syn(syn_filter), both(capture_filter);
    ASSERT_TRUE(duty.ok() && syn.ok() && both.ok()) << "a capture filter does not compile";
    const booting_table table = booting();
    std::size_t acting = 0, tagged = 0;
    for (const auto& [description, frame] : samples()) {
        const classification c = classify(frame, table);
        SCOPED_TRACE(description + " (" + to_string(c.kind) + "/" + to_string(c.why) + ")");
        EXPECT_EQ(both.passes(frame), duty.passes(frame) || syn.passes(frame));
        if (acts(c.kind)) {
            ++acting;
            EXPECT_TRUE(both.passes(frame));
            // SYNs on the SYN capture, so a SYN flood never delays the ARP duty.
            if (c.kind == verdict::syn) {
                EXPECT_TRUE(syn.passes(frame));
            }
            if (c.kind == verdict::arp_request) {
                EXPECT_TRUE(duty.passes(frame));
            }
        }
        if (c.why == reason::vlan_tagged) {
            ++tagged;
            EXPECT_FALSE(both.passes(frame));
        }
    }
    EXPECT_EQ(acting, 13U);  // the 8 untagged SYNs, 2 ARPs, 2 NSs and the VM's NA
    EXPECT_EQ(tagged, 5U * 17U);
}

TEST(synjitsu_bpf_filter, live_filters_keep_other_traffic_in_the_kernel) {
    const compiled_filter both(capture_filter);
    ASSERT_TRUE(both.ok());
    for (const auto& frame :
         {test::tcp_frame({.flags = 0x12}), test::tcp_frame({.flags = 0x10, .options = {}}),
          test::tcp_frame({.src = test::client6_ip, .dst = test::vm6_ip, .flags = 0x12}),
          test::udp_frame(test::client_ip, test::vm_ip)}) {
        EXPECT_FALSE(both.passes(frame));
    }
}

}  // namespace
}  // namespace jitsu::synjitsu
