#pragma once
// synjitsu's configuration: the command line of docs/DESIGN.md, parsed once at start-up
// (errors are exceptions / usage messages here, never on the hot path).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/log.h"
#include "common/mac_address.h"
#include "synjitsu/host_replay.h"
#include "synjitsu/syn_queue_writer.h"

namespace jitsu::synjitsu {

// Exit codes.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;   // runtime error (capture, file, ...)
inline constexpr int exit_usage = 2;     // bad flags or values
inline constexpr int exit_xenstore = 3;  // Xenstore unreachable (live mode)

struct booting_spec {
    ip_address ip{};
    mac_address mac{};
};

// "IP=MAC", IPv4 or IPv6, unicast MAC. Throws std::invalid_argument naming the input.
booting_spec parse_booting(std::string_view text);

struct config {
    // Live: the bridge to sit on (--interface). Offline: the capture (--pcap-in).
    std::string interface;
    std::string pcap_in;
    // Offline: where the frames synjitsu would send go (--pcap-out).
    std::string pcap_out;
    // Static booting VMs (--booting IP=MAC, repeatable).
    std::vector<booting_spec> booting;
    // Queue bounds (--queue-limit, --global-limit, --max-age, --pending-limit).
    writer_limits limits{};
    // VMs served at once (--max-vms).
    std::size_t max_vms = 1024;
    // Host replay bounds (--probe-interval, --probe-timeout, --probe-give-up).
    host_replay_limits host_replay{};
    // Offline: print the queue instead of writing Xenstore (--dump-queue).
    bool dump_queue = false;
    // Prometheus text, rewritten every second (--metrics-file).
    std::string metrics_file;
    // -v count: 0 info, 1 debug, 2 trace; -q: warnings only.
    int verbosity = 0;
    log_format log = default_log_format();  // --log-format

    bool offline() const { return !pcap_in.empty(); }
};

struct parse_outcome {
    std::optional<config> cfg;  // set when the program should run
    int exit_code = exit_ok;    // otherwise: exit with this
    std::string message;        // and print this (help on stdout, errors on stderr)
};

parse_outcome parse_command_line(int argc, const char* const* argv);

}  // namespace jitsu::synjitsu
