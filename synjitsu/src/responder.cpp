#include "synjitsu/responder.h"

#include <algorithm>

#include "common/packet/arp.h"
#include "common/packet/build.h"

namespace jitsu::synjitsu {

namespace {
constexpr mac_address all_nodes_mac({0x33, 0x33, 0x00, 0x00, 0x00, 0x01});
constexpr ipv6_address all_nodes({0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01});
}  // namespace

std::span<const std::uint8_t> responder::finish(std::size_t length) {
    if (length == 0) return {};
    const std::size_t padded = std::max(length, min_frame_size);
    std::fill(buffer_.begin() + static_cast<std::ptrdiff_t>(length),
              buffer_.begin() + static_cast<std::ptrdiff_t>(padded), std::uint8_t{0});
    return std::span<const std::uint8_t>(buffer_.data(), padded);
}

std::span<const std::uint8_t> responder::arp_reply(const vm_entry& vm,
                                                   const packet::parsed_frame& request) {
    const auto* v4 = vm.ip.if_v4();
    if (!request.arp || v4 == nullptr) return {};
    packet::ethernet_fields eth;
    eth.dst = request.ethernet.src();
    eth.src = vm.mac;
    eth.vlan_tci = request.ethernet.vlan_tci();
    packet::arp_fields arp;
    arp.op = packet::arp_op::reply;
    arp.sender_mac = vm.mac;
    arp.sender_ip = *v4;
    arp.target_mac = request.arp->sender_mac();
    arp.target_ip = request.arp->sender_ip();
    return finish(packet::build_arp_frame(buffer_, eth, arp));
}

std::span<const std::uint8_t> responder::neighbor_advertisement(const vm_entry& vm,
                                                                const packet::parsed_frame& ns) {
    const auto* v6 = vm.ip.if_v6();
    if (!ns.ndp || !ns.ipv6 || v6 == nullptr) return {};
    const ipv6_address solicitor = ns.ipv6->src();
    const bool dad = solicitor.is_unspecified();
    packet::ethernet_fields eth;
    eth.src = vm.mac;
    eth.dst = dad ? all_nodes_mac : ns.ndp->source_link_layer().value_or(ns.ethernet.src());
    eth.vlan_tci = ns.ethernet.vlan_tci();
    packet::neighbor_advertisement_fields na;
    na.target = *v6;
    na.solicited = !dad;
    na.override_flag = true;
    na.target_link_layer = vm.mac;
    return finish(packet::build_neighbor_advertisement_frame(buffer_, eth, *v6,
                                                             dad ? all_nodes : solicitor, na));
}

std::span<const std::uint8_t> responder::announcement(const vm_entry& vm) {
    if (const auto* v4 = vm.ip.if_v4()) {
        return finish(packet::build_gratuitous_arp(buffer_, vm.mac, *v4));
    }
    packet::ethernet_fields eth;
    eth.src = vm.mac;
    eth.dst = all_nodes_mac;
    packet::neighbor_advertisement_fields na;
    na.target = vm.ip.v6();
    na.solicited = false;
    na.override_flag = true;
    na.target_link_layer = vm.mac;
    return finish(
        packet::build_neighbor_advertisement_frame(buffer_, eth, vm.ip.v6(), all_nodes, na));
}

}  // namespace jitsu::synjitsu
