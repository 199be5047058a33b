#pragma once
// The queued-SYN record: one TCP SYN that synjitsu captured for a booting VM and stored
// in Xenstore, which the VM's stack (guest/) takes over and replays. synjitsu is the
// writer, guest the reader; both use this file so the record has one definition.
//
// Layout (docs/DESIGN.md, "Xenstore layout"), all values text:
//
//   /ip/<vm-ip>                                           "managed" once the VM took over
//   /ip/<vm-ip>/<vm-port>/<client-ip>/<client-port>/syn/  one node per connection:
//       tx_wnd             client's advertised window in the SYN   decimal 0..65535
//       sequence           the SYN's sequence number (client ISN)  decimal 0..4294967295
//       options            the SYN's TCP options, S-expression     see syn_record.h
//       tx_isn             ISN the VM's SYN/ACK must use           decimal 0..4294967295
//       rx_wnd             receive window the VM should advertise  decimal 0..1073725440
//       rx_wnd_scaleoffer  window scale the VM offers              decimal 0..14
//       frame              the captured Ethernet frame             lowercase hex, 1..65536 bytes
//       mac                the frame's source MAC (client or router)  aa:bb:cc:dd:ee:ff
//       time               capture time, unix nanoseconds          decimal 0..2^64-1
//       count              SYNs seen for this 4-tuple (>= 1)       decimal 1..4294967295
//
// rx_wnd_scaleoffer is always present. As in the patched mirage-tcpip
// (resolve_wnd_scaling), the VM sends a Window_size_shift option with this value only if
// the client's SYN offered window scaling itself (RFC 7323 §2.2); otherwise neither side
// scales and the field is unused. rx_wnd is the unscaled window in bytes (at most
// 65535 << 14).
//
// IP addresses in paths use the dashed Xenstore form (10.0.0.10 -> 10-0-0-10), see
// ip_address::to_xenstore(); the path builders are those of syn_record.h, re-exported
// here under the record's names.
//
// Take-over protocol (no SYN lost, none replayed twice): synjitsu adds each SYN in one
// transaction that first reads /ip/<vm-ip> and writes nothing if it is "managed"; the
// guest takes its whole queue in one transaction (walk, read, rm each connection, write
// "managed", commit; on EAGAIN the whole body again). Any overlap of the two is a
// Xenstore conflict, so one of them retries.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/syn_record.h"

namespace jitsu {

struct queued_syn {
    // local = the VM's address and port, remote = the client's (from the path).
    four_tuple tuple{};
    // Source MAC of the captured frame: the client's, or the router's if off-link.
    mac_address client_mac{};
    // The whole captured Ethernet frame.
    std::vector<std::uint8_t> frame{};
    std::uint64_t time_ns = 0;
    std::uint32_t count = 1;
    std::uint16_t tx_wnd = 0;
    std::uint32_t sequence = 0;
    // TCP options as the S-expression of syn_record.h, e.g. "((MSS 1460) SACK_ok)".
    std::string options = "()";
    std::uint32_t tx_isn = 0;
    std::uint32_t rx_wnd = 65535;
    std::uint8_t rx_wnd_scaleoffer = 0;

    bool operator==(const queued_syn&) const = default;
};

// Limits the decoder enforces.
inline constexpr std::size_t max_queued_frame_size = 65536;
inline constexpr std::uint32_t max_rx_wnd = 65535U << 14;
inline constexpr std::uint8_t max_window_scale = 14;

// /ip/<ip>
inline std::string ip_root(const ip_address& vm_ip) { return ip_state_path(vm_ip); }
// /ip/<ip>/<local_port>/<remote_ip>/<remote_port>/syn
inline std::string syn_node(const four_tuple& tuple) { return syn_record_path(tuple); }
// /ip/<ip>/<local_port>/<remote_ip>/<remote_port>: what a reader removes once replayed.
std::string connection_node(const four_tuple& tuple);

// The value /ip/<ip> holds once the VM's stack has taken over.
inline constexpr std::string_view ip_managed_value = "managed";

// Every field of the record as (name relative to syn_node(), value), in the order of
// the table above.
using syn_field = std::pair<std::string_view, std::string>;
std::vector<syn_field> encode_queued_syn(const queued_syn& syn);

// Why a record was rejected: the field ("" for the record as a whole) and the reason.
struct syn_decode_error {
    std::string field;
    std::string reason;
    // "field: reason"
    std::string to_string() const;
};

using syn_field_view = std::pair<std::string_view, std::string_view>;

// Strict decoding of the fields read under syn_node(tuple). Every field of the table
// is required; unknown extra fields are ignored (a newer writer may add some). Rejects
// numbers with signs, spaces, leading zeros or out of range, hex that is not lowercase
// or of odd length, a frame over max_queued_frame_size, a malformed MAC, and options
// that are not one balanced, printable S-expression list. The frame must be what a
// reader would replay: Ethernet + IPv4/IPv6 + TCP with SYN set and ACK clear, from the
// tuple's remote address and port to its local ones. A field given twice is an error.
std::variant<queued_syn, syn_decode_error> decode_queued_syn(
    const four_tuple& tuple, std::span<const syn_field_view> fields);

// Strict unsigned decimal (the number form of the record and of port path segments):
// digits only, no leading zero unless "0", at most `max`. nullopt otherwise.
std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max);

}  // namespace jitsu
