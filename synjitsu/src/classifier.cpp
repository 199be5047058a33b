#include "synjitsu/classifier.h"

#include "common/packet/protocols.h"

namespace jitsu::synjitsu {

namespace {

using packet::parsed_frame;

// Tag protocol identifiers besides 802.1Q's 0x8100 (packet::ethertype::vlan).
constexpr std::uint16_t tpid_8021ad = 0x88a8;
constexpr std::uint16_t tpid_qinq_legacy = 0x9100;

classification make(verdict v, reason r, std::size_t vm, const parsed_frame& f) {
    return classification{v, r, vm, f};
}

classification ignore(reason r, const parsed_frame& f) {
    return make(verdict::ignore, r, booting_table::npos, f);
}

classification malformed(reason r, const parsed_frame& f) {
    return make(verdict::malformed, r, booting_table::npos, f);
}

classification classify_arp(const parsed_frame& f, const booting_table& table) {
    const packet::arp_view& arp = *f.arp;
    // The VM speaking for itself: an announcement (sender IP = its IP) means it is up.
    if (const std::size_t i = table.find(ip_address(arp.sender_ip())); i != booting_table::npos) {
        const vm_entry& vm = table[i];
        if (arp.sender_mac() == vm.mac) {
            if (!vm.active()) return ignore(reason::inactive, f);
            return make(verdict::vm_announce, reason::none, i, f);
        }
    }
    if (!arp.is_request()) return ignore(reason::not_interesting, f);
    const std::size_t i = table.find(ip_address(arp.target_ip()));
    if (i == booting_table::npos) return ignore(reason::not_booting, f);
    const vm_entry& vm = table[i];
    if (!vm.active()) return ignore(reason::inactive, f);
    // The VM probing for its own address (RFC 5227, sender IP 0): answering would make
    // it believe the address is taken.
    if (arp.sender_mac() == vm.mac || f.ethernet.src() == vm.mac) {
        return ignore(reason::from_vm, f);
    }
    return make(verdict::arp_request, reason::none, i, f);
}

classification classify_ndp(const parsed_frame& f, const booting_table& table) {
    const packet::ipv6_view& ip6 = *f.ipv6;
    const packet::ndp_view& nd = *f.ndp;
    const std::size_t i = table.find(ip_address(nd.target()));
    if (i == booting_table::npos) return ignore(reason::not_booting, f);
    // RFC 4861 §7.1.1 / §7.1.2: hop limit 255 and a valid checksum, or drop.
    if (ip6.hop_limit() != 255 || !f.icmpv6->checksum_valid(ip6.src(), ip6.dst())) {
        return malformed(reason::bad_icmpv6, f);
    }
    const vm_entry& vm = table[i];
    if (nd.is_advertisement()) {
        const bool from_vm = f.ethernet.src() == vm.mac ||
                             (nd.target_link_layer() && *nd.target_link_layer() == vm.mac);
        if (!from_vm) return ignore(reason::not_interesting, f);
        if (!vm.active()) return ignore(reason::inactive, f);
        return make(verdict::vm_announce, reason::none, i, f);
    }
    if (!vm.active()) return ignore(reason::inactive, f);
    // The VM's own duplicate address detection (or any NS from it).
    if (f.ethernet.src() == vm.mac) return ignore(reason::from_vm, f);
    return make(verdict::neighbor_solicitation, reason::none, i, f);
}

classification classify_tcp(const parsed_frame& f, const booting_table& table) {
    const packet::tcp_view& tcp = *f.tcp;
    if (!tcp.is_syn_only()) return ignore(reason::not_interesting, f);
    const auto dst = f.dst_ip();
    const std::size_t i = table.find(*dst);
    if (i == booting_table::npos) return ignore(reason::not_booting, f);
    if (!table[i].active()) return ignore(reason::inactive, f);
    if (table.exclusions() != 0) {
        const four_tuple tuple{*dst, tcp.dst_port(), *f.src_ip(), tcp.src_port()};
        if (table.excluded(tuple)) return ignore(reason::own_probe, f);
    }
    packet::tcp_option_reader options = tcp.options();
    while (options.next()) {
    }
    if (options.malformed()) return malformed(reason::bad_tcp_options, f);
    return make(verdict::syn, reason::none, i, f);
}

}  // namespace

const char* to_string(verdict v) {
    switch (v) {
        case verdict::arp_request:
            return "arp_request";
        case verdict::neighbor_solicitation:
            return "neighbor_solicitation";
        case verdict::syn:
            return "syn";
        case verdict::vm_announce:
            return "vm_announce";
        case verdict::ignore:
            return "ignore";
        case verdict::malformed:
            return "malformed";
    }
    return "?";
}

const char* to_string(reason r) {
    switch (r) {
        case reason::none:
            return "none";
        case reason::not_booting:
            return "not_booting";
        case reason::inactive:
            return "inactive";
        case reason::from_vm:
            return "from_vm";
        case reason::own_probe:
            return "own_probe";
        case reason::vlan_tagged:
            return "vlan_tagged";
        case reason::not_interesting:
            return "not_interesting";
        case reason::short_frame:
            return "short_frame";
        case reason::bad_arp:
            return "bad_arp";
        case reason::bad_ipv4:
            return "bad_ipv4";
        case reason::bad_ipv6:
            return "bad_ipv6";
        case reason::bad_tcp:
            return "bad_tcp";
        case reason::bad_tcp_options:
            return "bad_tcp_options";
        case reason::bad_icmpv6:
            return "bad_icmpv6";
    }
    return "?";
}

classification classify(std::span<const std::uint8_t> bytes, const booting_table& table) {
    const auto parsed = packet::parse_frame(bytes);
    if (!parsed) return classification{verdict::malformed, reason::short_frame};
    const parsed_frame& f = *parsed;
    // Any tag, whatever follows it: the outer type as on the wire (parse_frame unwraps
    // one 802.1Q tag, not an 802.1ad S-tag nor the old 0x9100 QinQ type).
    const std::uint16_t outer = static_cast<std::uint16_t>(bytes[12] << 8 | bytes[13]);
    if (f.ethernet.vlan_tci() || outer == tpid_8021ad || outer == tpid_qinq_legacy) {
        return ignore(reason::vlan_tagged, f);
    }
    const std::uint16_t type = f.ethernet.ethertype();

    if (type == packet::ethertype::arp) {
        if (!f.arp) return malformed(reason::bad_arp, f);
        return classify_arp(f, table);
    }
    if (type == packet::ethertype::ipv4) {
        if (!f.ipv4) return malformed(reason::bad_ipv4, f);
        const packet::ipv4_view& ip4 = *f.ipv4;
        if (ip4.protocol() != packet::ip_protocol::tcp) return ignore(reason::not_interesting, f);
        // Later fragments carry no TCP header: nothing to classify.
        if (ip4.fragment_offset() != 0) return ignore(reason::not_interesting, f);
        if (!f.tcp) return malformed(reason::bad_tcp, f);
        return classify_tcp(f, table);
    }
    if (type == packet::ethertype::ipv6) {
        if (!f.ipv6) return malformed(reason::bad_ipv6, f);
        const auto l4 = f.ipv6->l4_protocol();
        if (!l4) return ignore(reason::not_interesting, f);
        if (*l4 == packet::ip_protocol::tcp) {
            if (!f.tcp) return malformed(reason::bad_tcp, f);
            return classify_tcp(f, table);
        }
        if (*l4 == packet::ip_protocol::icmpv6) {
            if (!f.icmpv6) return malformed(reason::bad_icmpv6, f);
            const std::uint8_t t = f.icmpv6->type();
            if (t != packet::icmpv6_type::neighbor_solicitation &&
                t != packet::icmpv6_type::neighbor_advertisement) {
                return ignore(reason::not_interesting, f);
            }
            if (!f.ndp) return malformed(reason::bad_icmpv6, f);
            return classify_ndp(f, table);
        }
        return ignore(reason::not_interesting, f);
    }
    return ignore(reason::not_interesting, f);
}

}  // namespace jitsu::synjitsu
