#pragma once
// responder: the only frames synjitsu ever sends, built into one preallocated buffer
// (no allocation): ARP replies and gratuitous ARPs for booting IPv4 VMs, solicited and
// unsolicited Neighbour Advertisements for booting IPv6 VMs. Every frame is sent from
// the VM's MAC and padded to the Ethernet minimum of 60 bytes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/packet/frame.h"
#include "synjitsu/booting_table.h"

namespace jitsu::synjitsu {

class responder {
  public:
    static constexpr std::size_t min_frame_size = 60;
    static constexpr std::size_t buffer_size = 128;

    // "vm.ip is at vm.mac", unicast to the requester (keeps the request's VLAN tag).
    // Empty if `request` holds no ARP layer.
    std::span<const std::uint8_t> arp_reply(const vm_entry& vm,
                                            const packet::parsed_frame& request);
    // Solicited NA to the solicitor (or, for duplicate address detection from ::, to
    // all nodes), Override set, target link-layer option = vm.mac. Empty if `ns` holds
    // no NDP layer or the VM is not IPv6.
    std::span<const std::uint8_t> neighbor_advertisement(const vm_entry& vm,
                                                         const packet::parsed_frame& ns);
    // Gratuitous ARP (IPv4) or unsolicited NA to ff02::1 (IPv6).
    std::span<const std::uint8_t> announcement(const vm_entry& vm);

  private:
    std::span<const std::uint8_t> finish(std::size_t length);

    std::array<std::uint8_t, buffer_size> buffer_{};
};

}  // namespace jitsu::synjitsu
