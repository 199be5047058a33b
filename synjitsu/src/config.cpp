#include "synjitsu/config.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <stdexcept>

#include "common/log_options.h"

namespace jitsu::synjitsu {

booting_spec parse_booting(std::string_view text) {
    const auto eq = text.find('=');
    if (eq == std::string_view::npos) {
        throw std::invalid_argument("--booting '" + std::string(text) + "': expected IP=MAC");
    }
    const auto ip = ip_address::parse(text.substr(0, eq));
    if (!ip) {
        throw std::invalid_argument("--booting '" + std::string(text) + "': bad IP address");
    }
    const auto mac = mac_address::parse(text.substr(eq + 1));
    if (!mac || mac->is_multicast() || mac->is_zero()) {
        throw std::invalid_argument("--booting '" + std::string(text) + "': bad unicast MAC");
    }
    return {*ip, *mac};
}

parse_outcome parse_command_line(int argc, const char* const* argv) {
    CLI::App app{
        "synjitsu: stands in for booting VMs on a bridge: announces them, answers ARP/NS for\n"
        "them, and queues their TCP SYNs in Xenstore for the VM to replay once up."};
    app.set_version_flag("--version", "synjitsu 0.1.0");
    config cfg;
    std::vector<std::string> booting;
    double max_age_s = static_cast<double>(cfg.limits.max_age_ns) / 1e9;
    double probe_interval_ms = static_cast<double>(cfg.host_replay.interval_ns) / 1e6;
    double probe_timeout_ms = static_cast<double>(cfg.host_replay.attempt_timeout_ns) / 1e6;
    double probe_give_up_s = static_cast<double>(cfg.host_replay.give_up_ns) / 1e9;

    auto* live =
        app.add_option("-i,--interface", cfg.interface, "Live: the bridge to attach to (e.g. br0)");
    auto* offline = app.add_option("--pcap-in", cfg.pcap_in,
                                   "Offline: process this capture with its own clock");
    live->excludes(offline);
    app.add_option("--pcap-out", cfg.pcap_out, "Offline: write the frames synjitsu sends here")
        ->needs(offline);
    app.add_option("--booting", booting, "A booting VM IP=MAC (repeatable)");
    app.add_option("--queue-limit", cfg.limits.per_ip, "Distinct 4-tuples queued per VM")
        ->capture_default_str()
        ->check(CLI::Range(1U, 1000000U));
    bool no_fair_share = false;
    app.add_flag("--no-fair-share", no_fair_share,
                 "A full VM queue drops every new SYN (by default a source holding two fewer "
                 "4-tuples than the VM's most-represented source evicts that source's newest)");
    app.add_option("--global-limit", cfg.limits.global, "Distinct 4-tuples queued in total")
        ->capture_default_str()
        ->check(CLI::Range(1U, 10000000U));
    app.add_option("--max-age", max_age_s,
                   "Seconds after its last SYN a 4-tuple is pruned (0: never)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 86400.0));
    app.add_option("--pending-limit", cfg.limits.pending,
                   "4-tuples waiting for a Xenstore write before new ones are dropped")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
    app.add_option("--max-vms", cfg.max_vms, "VMs served at once")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{65536}));
    app.add_option("--probe-interval", probe_interval_ms,
                   "Host replay: milliseconds between two probes of one port")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 10000.0));
    app.add_option("--probe-timeout", probe_timeout_ms,
                   "Host replay: milliseconds before an unanswered probe is abandoned")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 60000.0));
    app.add_option("--probe-give-up", probe_give_up_s,
                   "Host replay: seconds after registration without success before giving up "
                   "(the queue is taken and dropped)")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 86400.0));
    app.add_flag("--dump-queue", cfg.dump_queue,
                 "Offline: print the queue (one line per SYN) instead of writing Xenstore")
        ->needs(offline);
    app.add_option("--metrics-file", cfg.metrics_file,
                   "Write Prometheus text metrics here every second");
    int quiet = 0;
    app.add_flag("-v,--verbose", cfg.verbosity, "More logging (repeat for trace)");
    app.add_flag("-q,--quiet", quiet, "Warnings and errors only");
    add_log_format_option(app, cfg.log);

    parse_outcome out;
    try {
        app.parse(argc, argv);
        if (cfg.interface.empty() && cfg.pcap_in.empty()) {
            throw CLI::RequiredError("--interface or --pcap-in");
        }
        for (const auto& b : booting) cfg.booting.push_back(parse_booting(b));
    } catch (const CLI::ParseError& e) {
        out.exit_code = e.get_exit_code() == 0 ? exit_ok : exit_usage;
        if (e.get_exit_code() == 0) {
            out.message = app.help();
            if (dynamic_cast<const CLI::CallForVersion*>(&e) != nullptr) {
                out.message = "synjitsu 0.1.0\n";
            }
        } else {
            out.message = std::string("synjitsu: ") + e.what() + "\n";
        }
        return out;
    } catch (const std::invalid_argument& e) {
        out.exit_code = exit_usage;
        out.message = std::string("synjitsu: ") + e.what() + "\n";
        return out;
    }
    if (quiet > 0) cfg.verbosity = -1;
    cfg.limits.fair_share = !no_fair_share;
    cfg.limits.max_age_ns = static_cast<std::uint64_t>(std::llround(max_age_s * 1e9));
    cfg.host_replay.interval_ns = static_cast<std::uint64_t>(std::llround(probe_interval_ms * 1e6));
    cfg.host_replay.attempt_timeout_ns =
        static_cast<std::uint64_t>(std::llround(probe_timeout_ms * 1e6));
    cfg.host_replay.give_up_ns = static_cast<std::uint64_t>(std::llround(probe_give_up_s * 1e9));
    out.cfg = std::move(cfg);
    return out;
}

}  // namespace jitsu::synjitsu
