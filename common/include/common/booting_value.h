#pragma once
// The value of /synjitsu/booting/<ip>: how jitsu-dns tells synjitsu about a booting VM.
// jitsu-dns writes it (format_booting_value), synjitsu reads it (parse_booting_value):
// one definition of the text for both.
//
//   <mac>                                   the VM's own stack takes its queue (jitsu-netvm,
//                                           a patched unikernel): synjitsu only queues
//   <mac> replay=host                       an unmodified guest: synjitsu probes the VM and
//   <mac> replay=host ports=80              replays the queue to it itself once the service
//   <mac> replay=host ports=80+443          accepts (synjitsu/README.md, "Host replay")
//
// Tokens are separated by exactly one space; the first is the VM's unicast MAC, every
// other one is key=value. Known keys: replay (guest | host; guest = a bare MAC) and
// ports (1..max_booting_ports decimal ports joined by '+', the service ports synjitsu
// probes even before a SYN is queued). Unknown key=value tokens are ignored, so a newer
// writer may add keys; anything else (a known key twice, a bad value, empty tokens, a
// token without '=', more than max_booting_value_length characters) rejects the whole
// value. Surrounding whitespace (a shell's newline) is tolerated.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/mac_address.h"

namespace jitsu {

// Who replays the queued SYNs to the VM.
enum class replay_mode : std::uint8_t {
    guest,  // the VM's own stack takes the queue (a bare MAC)
    host,   // synjitsu takes it and sends each SYN to the VM's MAC (replay=host)
};

const char* to_string(replay_mode mode);

inline constexpr std::size_t max_booting_value_length = 256;
inline constexpr std::size_t max_booting_ports = 8;

struct booting_value {
    mac_address mac{};
    replay_mode replay = replay_mode::guest;
    // ports= hints, in the order given, without duplicates.
    std::vector<std::uint16_t> ports{};

    bool operator==(const booting_value&) const = default;
};

// Why a value was rejected, for the one-line log of a bad entry.
struct booting_value_error {
    std::string reason;
};

std::variant<booting_value, booting_value_error> parse_booting_value(std::string_view text);

// The canonical text: "<mac>", or "<mac> replay=host" followed by " ports=P+P" when
// there are hints (ports are written only with replay=host: a guest replay ignores them).
std::string format_booting_value(const booting_value& value);

}  // namespace jitsu
