#pragma once
// From a classified SYN frame to the queued-SYN record of common/syn_queue.h.
//
// rx_wnd / rx_wnd_scaleoffer, what the VM's SYN/ACK will advertise, are constants:
// rx_wnd = 65535 bytes (unscaled), rx_wnd_scaleoffer = 7 (the VM offers scaling only
// if the client's SYN did, see syn_queue.h).

#include <cstdint>
#include <optional>
#include <span>

#include "common/packet/frame.h"
#include "common/syn_queue.h"
#include "synjitsu/isn.h"

namespace jitsu::synjitsu {

inline constexpr std::uint32_t default_rx_wnd = 65535;
inline constexpr std::uint8_t default_rx_wnd_scaleoffer = 7;

// The 4-tuple seen from the VM: local = destination of the SYN. nullopt without IP/TCP.
std::optional<four_tuple> syn_tuple(const packet::parsed_frame& frame);

// The record for a SYN (count 1). nullopt if `frame` has no TCP layer or its options
// are malformed. `bytes` are the whole captured frame `frame` was parsed from.
std::optional<queued_syn> build_queued_syn(const packet::parsed_frame& frame,
                                           std::span<const std::uint8_t> bytes,
                                           std::uint64_t time_ns, const isn_key& key);

}  // namespace jitsu::synjitsu
