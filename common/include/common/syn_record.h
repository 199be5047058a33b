#pragma once
// The SYN record: what synjitsu stores in Xenstore for each queued SYN and the guest
// reads back (docs/DESIGN.md, "Xenstore layout"). Both sides use these functions so the
// paths and the options text have one definition.
//
// The `options` value is the S-expression of Mirage's `Tcp.Options.t list`, the form
// the patched mirage-tcpip reads back with `t_of_sexp`:
//
//   ((MSS 1460) SACK_ok (Timestamp 1 0) Noop (Window_size_shift 7))
//
//   Noop | (MSS n) | (Window_size_shift n) | SACK_ok | (SACK ((l r) ...))
//   | (Timestamp v e) | (Unknown kind "bytes")
//
// Options appear in wire order; EOL ends the list and is not printed; an empty list is
// "()". Timestamp and SACK values are OCaml int32s, whose sexp is *signed* decimal, so
// 4294967295 prints as -1 (Int32.of_string rejects unsigned values above 2^31 - 1).
// Unknown data is always a quoted OCaml string literal (\" \\ \n \t \r \b escaped,
// other bytes outside ' '..'~' as \ddd).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/ip_address.h"
#include "common/packet/tcp_options.h"

namespace jitsu {

// Enough for any option list that fits in a TCP header's 40 bytes.
inline constexpr std::size_t max_tcp_options_sexp_length = 512;

// From a segment's option bytes (tcp_view::raw_options()): nullopt if the list is
// malformed (see tcp_option_reader), as Mirage then rejects the whole list.
std::optional<std::string> tcp_options_sexp(std::span<const std::uint8_t> raw_options);
// Same, into a caller's buffer without allocating: returns the length, or 0 if the list
// is malformed or `out` is too small (max_tcp_options_sexp_length always suffices).
std::size_t write_tcp_options_sexp(std::span<const std::uint8_t> raw_options, std::span<char> out);
// From options held in memory (e.g. built ones).
std::string tcp_options_sexp(std::span<const packet::tcp_option> options);

// Xenstore paths (IP addresses in their dashed Xenstore form).
// /synjitsu/booting/<ip>: the booting VM's MAC.
std::string synjitsu_booting_path(const ip_address& vm_ip);
// /ip/<ip>: "managed" once the VM's own stack has taken over.
std::string ip_state_path(const ip_address& vm_ip);
// /ip/<local ip>/<local port>/<remote ip>/<remote port>/syn
std::string syn_record_path(const four_tuple& connection);

// The keys under a syn_record_path node.
namespace syn_key {
inline constexpr std::string_view tx_wnd = "tx_wnd";
inline constexpr std::string_view sequence = "sequence";
inline constexpr std::string_view options = "options";
inline constexpr std::string_view tx_isn = "tx_isn";
inline constexpr std::string_view rx_wnd = "rx_wnd";
inline constexpr std::string_view rx_wnd_scaleoffer = "rx_wnd_scaleoffer";
inline constexpr std::string_view frame = "frame";
inline constexpr std::string_view mac = "mac";
inline constexpr std::string_view time = "time";
inline constexpr std::string_view count = "count";
}  // namespace syn_key

}  // namespace jitsu
