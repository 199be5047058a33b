#pragma once
// The frame that hands a queued SYN to its VM: the captured bytes, addressed to the VM's
// MAC, with the IPv4 header and TCP checksums recomputed. jitsu-netvm replays queued SYNs
// with it; synjitsu sends one itself when the VM took over before the SYN was stored.
//
// Why the checksums: a SYN captured on a Linux bridge from a local veth or tap port is
// usually CHECKSUM_PARTIAL (checksum offload): its TCP checksum field holds only the
// pseudo-header sum, and the stack the frame is replayed into would drop it as corrupt.
// A frame captured from a physical wire is already correct and stays unchanged.

#include <cstdint>
#include <optional>
#include <vector>

#include "common/mac_address.h"
#include "common/syn_queue.h"

namespace jitsu {

// nullopt if the frame is not Ethernet + IP + TCP (decode_queued_syn already ensures
// that for records it returns).
std::optional<std::vector<std::uint8_t>> replay_frame(const queued_syn& syn,
                                                      const mac_address& vm_mac);

}  // namespace jitsu
