#pragma once
// classify: one captured frame -> what synjitsu does with it. A pure function of the
// frame bytes and the booting table, built on common's parse_frame; it neither
// allocates nor touches any state, so it is tested with a golden table of frames
// (tests/unit/synjitsu/classifier_test.cpp).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/packet/frame.h"
#include "synjitsu/booting_table.h"

namespace jitsu::synjitsu {

enum class verdict : std::uint8_t {
    arp_request,            // ARP who-has a booting IPv4: reply with the VM's MAC
    neighbor_solicitation,  // NS for a booting IPv6: reply with a Neighbour Advertisement
    syn,                    // TCP SYN (ACK clear) to a booting IP: queue it
    vm_announce,            // the VM's own ARP / NA: it is up, stop acting for it
    ignore,                 // nothing to do (see reason)
    malformed,              // a layer its header announces does not parse (see reason)
};

// Why: the detail behind ignore / malformed (and `none` for the acting verdicts).
enum class reason : std::uint8_t {
    none,
    // ignore
    not_booting,      // addressed to an IP synjitsu was not told about
    inactive,         // for a VM already managed / up
    from_vm,          // sent by the VM's MAC but not an announcement (e.g. its ARP probe)
    own_probe,        // the SYN of synjitsu's own host-replay probe (booting_table::excluded)
    vlan_tagged,      // an 802.1Q / 802.1ad (QinQ) tagged frame: synjitsu serves untagged only
    not_interesting,  // any other traffic (ARP replies, SYN/ACKs, UDP, other NDP, ...)
    // malformed
    short_frame,      // not even an Ethernet header
    bad_arp,          // ARP ethertype, body not Ethernet/IPv4 ARP
    bad_ipv4,         // IPv4 ethertype, header does not parse
    bad_ipv6,         // IPv6 ethertype, header does not parse
    bad_tcp,          // TCP announced, header truncated or bad data offset
    bad_tcp_options,  // SYN whose option list is malformed (a TCP stack rejects it)
    bad_icmpv6,       // ICMPv6 announced, truncated, or NS/NA failing RFC 4861 checks
};

const char* to_string(verdict v);
const char* to_string(reason r);

struct classification {
    verdict kind = verdict::ignore;
    reason why = reason::none;
    // The table entry the frame concerns (npos for ignore/malformed).
    std::size_t vm = booting_table::npos;
    // Every layer that parsed (views into the classified bytes); empty if short_frame.
    std::optional<packet::parsed_frame> frame{};
};

classification classify(std::span<const std::uint8_t> frame, const booting_table& table);

}  // namespace jitsu::synjitsu
