// Shared by the guest tests and the integration test's queueing tool: a jitsu-xenstored
// process on a private socket, SYN frames built with common's builders, and the writer
// side of the take-over protocol exactly as synjitsu does it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/syn_queue.h"
#include "xenstore/asio.h"
#include "xenstore/client.h"
#include "xenstored_process.h"

namespace jitsu::guest::testing {

using jitsu::test::temp_socket_path;
using jitsu::test::xenstored_process;

// An Ethernet/IPv4-or-IPv6/TCP SYN from remote to local with typical Linux options
// (MSS, SACK_ok, Timestamp, NOP, WS 7).
std::vector<std::uint8_t> make_syn_frame(const four_tuple& tuple, const mac_address& client_mac,
                                         const mac_address& vm_mac, std::uint32_t seq,
                                         std::uint16_t window = 64240);

// A full record for `tuple`, built as synjitsu would from make_syn_frame.
queued_syn make_queued_syn(const four_tuple& tuple, std::uint64_t time_ns,
                           std::uint32_t seq = 1000);

// From a captured SYN frame: the tuple (local = destination), MAC, sequence, window,
// options; tx_isn/rx_wnd/scale/time/count as given. nullopt if the frame is no SYN.
std::optional<queued_syn> queued_syn_from_frame(std::vector<std::uint8_t> frame,
                                                std::uint64_t time_ns, std::uint32_t tx_isn);

enum class queue_outcome { queued, managed };

// synjitsu's side of the protocol: one transaction that reads /ip/<ip>, writes nothing
// if it is "managed", else writes every field of the record (count is incremented if
// the record exists). Retries on EAGAIN.
xenstore::asio::awaitable<xenstore::result<queue_outcome>> queue_syn(xenstore::client& client,
                                                                     const queued_syn& syn);

}  // namespace jitsu::guest::testing
