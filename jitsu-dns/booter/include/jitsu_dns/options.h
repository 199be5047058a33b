#pragma once
// jitsu-dns's command line (docs/DESIGN.md): the original Jitsu's options plus --config,
// --zone, --wait-timeout, --stop-on-exit, --xenstore, --netvm. Parsed once at start;
// errors are one line.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "jitsu_dns/vm_spec.h"

namespace jitsu::dns {

// Exit codes (also listed by --help).
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;   // runtime error after start-up
inline constexpr int exit_usage = 2;     // bad flags, VMSPEC or --config file
inline constexpr int exit_xenstore = 3;  // Xenstore unreachable or not writable at start
inline constexpr int exit_bind = 4;      // the DNS sockets cannot be bound
inline constexpr int exit_backend = 5;   // the backend cannot work here

struct daemon_options {
    std::vector<std::string> bind{"0.0.0.0"};  // -b (repeatable)
    std::uint16_t listen = 53;                 // -l
    std::string forwarder;                // -f ("": resolv.conf's first nameserver; 0.0.0.0: none)
    std::uint16_t forwarder_port = 53;    // -p
    std::uint32_t ttl = 60;               // -t
    double delay_s = 0.1;                 // -d
    stop_mode mode = stop_mode::destroy;  // -m
    std::string backend = "netns";        // -x
    std::string connect;                  // -c
    std::string libvirt_console_dir;      // --libvirt-console-dir
    double stop_grace_s = 10.0;           // --stop-grace
    bool synjitsu = false;                // --synjitsu
    std::vector<std::string> config_files;         // --config (repeatable)
    std::vector<std::string> zones;                // --zone (repeatable)
    std::vector<std::string> allow_forward;        // --allow-forward CIDR (repeatable)
    double wait_timeout_s = 5.0;                   // --wait-timeout
    bool stop_on_exit = false;                     // --stop-on-exit
    unsigned max_booting = 8;                      // --max-booting (0: no limit)
    unsigned max_running = 64;                     // --max-running (0: no limit)
    std::string xenstore_path;                     // --xenstore
    std::string netvm_path;                        // --netvm
    std::string bridge_netns;                      // --bridge-netns
    std::size_t max_tcp = 256;                     // --max-tcp
    std::size_t max_tcp_per_client = 16;           // --max-tcp-per-client
    double tcp_idle_timeout_s = 10.0;              // --tcp-idle-timeout
    std::string resolv_conf = "/etc/resolv.conf";  // --resolv-conf (tests)
    int verbosity = 0;                             // -v / -q
    log_format log = default_log_format();         // --log-format
    std::vector<std::string> specs;                // VMSPEC...
};

struct parse_outcome {
    std::optional<daemon_options> options;  // set when the program should run
    int exit_code = exit_ok;                // otherwise: exit with this
    std::string message;                    // and print this (help on stdout, errors on stderr)
};

parse_outcome parse_command_line(int argc, const char* const* argv);

// The catalog from the VMSPECs and --config files, with the command line's defaults,
// validated as a whole, and checked against the options (use_synjitsu needs --synjitsu).
// Throws std::runtime_error (spec_error or std::invalid_argument) with one line.
std::vector<vm_spec> build_catalog(const daemon_options& options);

}  // namespace jitsu::dns
