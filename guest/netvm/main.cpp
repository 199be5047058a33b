// jitsu-netvm: a network namespace + any server program as a bootable "VM" on a bridge,
// whose start-up replays the SYNs synjitsu queued for it. See guest/README.md.
#include <fcntl.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cmath>
#include <iostream>
#include <string>

#include "common/log.h"
#include "common/log_options.h"
#include "common/syn_queue.h"
#include "guest/netvm.h"

namespace {

using jitsu::guest::exit_code;

int usage_error(const std::string& message) {
    std::cerr << "jitsu-netvm: " << message << " (see --help)\n";
    return static_cast<int>(exit_code::usage);
}

bool valid_vm_name(const std::string& name) {
    // Not starting with '-' (it would read as an option to ip(8) and friends) or '.'.
    if (name.empty() || name.size() > 32 || name.front() == '-' || name.front() == '.')
        return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

// An address a VM can own: not unspecified, multicast, broadcast or loopback.
bool unicast(const jitsu::ip_address& a) {
    if (a.is_v4()) {
        const auto v4 = a.v4();
        return !v4.is_unspecified() && !v4.is_multicast() && !v4.is_broadcast() &&
               (v4.to_uint() >> 24) != 127;
    }
    const auto v6 = a.v6();
    std::array<std::uint8_t, jitsu::ipv6_address::size> loopback{};
    loopback.back() = 1;
    return !v6.is_unspecified() && !v6.is_multicast() && v6 != jitsu::ipv6_address(loopback);
}

std::optional<std::chrono::nanoseconds> seconds(double s, double max) {
    if (!std::isfinite(s) || s < 0 || s > max) return std::nullopt;
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9)));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "jitsu-netvm: run CMD as a VM in its own network namespace on a bridge; once CMD\n"
        "listens, replay the TCP SYNs synjitsu queued in Xenstore for the VM's IP.\n"
        "Signals: SIGTERM/SIGINT stop (CMD, veth, namespace removed), SIGUSR1 suspend,\n"
        "SIGUSR2 resume. Xenstore: $XENSTORED_PATH (default /run/xenstored/socket).\n"
        "Exit codes: 0 stopped by signal, 1 setup failed, 2 bad usage, 3 CMD did not start\n"
        "or listen, 4 CMD exited by itself, 5 Xenstore unreachable.",
        "jitsu-netvm"};
    app.footer(
        "Usage: jitsu-netvm --name N --bridge br0 --ip IP/PREFIX --mac MAC [options] -- CMD...");
    jitsu::guest::netvm_config config;
    std::string ip_prefix, mac, gateway;
    double boot_delay = 0, listen_timeout = 30, stop_timeout = 5;
    std::uint32_t domid = 0;
    int listen_port = -1;
    int verbosity = 0;
    app.add_option("--name", config.name, "VM name: the namespace's name")->required();
    app.add_option("--bridge", config.bridge, "bridge to attach the VM to")->required();
    app.add_option("--ip", ip_prefix, "the VM's address, IP/PREFIX")->required();
    app.add_option("--mac", mac, "the VM's MAC address")->required();
    app.add_option("--gateway", gateway, "default route (next hop for off-link clients)");
    app.add_option("--boot-delay", boot_delay, "seconds to wait before starting CMD (boot time)");
    auto* domid_opt = app.add_option("--domid", domid, "domain id for --ready-key");
    app.add_option("--ready-key", config.ready_key,
                   "write /local/domain/<domid>/<KEY> = ready once up")
        ->needs(domid_opt);
    app.add_option("--listen", listen_port, "TCP port CMD listens on (default: any)");
    app.add_option("--netns-of-bridge", config.bridge_netns,
                   "network namespace (ip netns name) holding the bridge; default: our own");
    app.add_option("--listen-timeout", listen_timeout, "seconds CMD may take to listen")
        ->capture_default_str();
    app.add_option("--stop-timeout", stop_timeout, "seconds between SIGTERM and SIGKILL for CMD")
        ->capture_default_str();
    app.add_option("--ready-fd", config.ready_fd,
                   "descriptor for progress lines: started, ready, failed: WHY (EOF: exited)");
    app.add_flag("-v,--verbose", verbosity, "more logging (repeat for more)");
    jitsu::log_format log_format = jitsu::default_log_format();
    jitsu::add_log_format_option(app, log_format);
    app.add_option("CMD", config.command, "the server to run (after --)")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return usage_error(e.what());
    }

    if (!valid_vm_name(config.name)) {
        return usage_error(
            "--name: 1-32 characters of [A-Za-z0-9._-], not starting with '-' or '.', "
            "expected, got '" +
            config.name + "'");
    }
    const auto slash = ip_prefix.find('/');
    if (slash == std::string::npos)
        return usage_error("--ip: IP/PREFIX expected, got '" + ip_prefix + "'");
    const auto ip = jitsu::ip_address::parse(ip_prefix.substr(0, slash));
    if (!ip) return usage_error("--ip: not an IP address: '" + ip_prefix.substr(0, slash) + "'");
    const auto prefix = jitsu::parse_decimal(ip_prefix.substr(slash + 1), ip->is_v4() ? 32 : 128);
    if (!prefix || *prefix == 0) {
        return usage_error("--ip: bad prefix length in '" + ip_prefix + "' (1.." +
                           (ip->is_v4() ? "32" : "128") + ")");
    }
    if (!unicast(*ip)) {
        return usage_error("--ip: not a unicast address: '" + ip_prefix.substr(0, slash) + "'");
    }
    config.ip = *ip;
    config.prefix_length = static_cast<int>(*prefix);
    const auto parsed_mac = jitsu::mac_address::parse(mac);
    if (!parsed_mac || parsed_mac->is_multicast() || parsed_mac->is_zero()) {
        return usage_error("--mac: not a unicast MAC address: '" + mac + "'");
    }
    config.mac = *parsed_mac;
    if (!gateway.empty()) {
        const auto gw = jitsu::ip_address::parse(gateway);
        if (!gw || gw->is_v4() != ip->is_v4() || !unicast(*gw)) {
            return usage_error("--gateway: not a unicast address of the --ip family: '" + gateway +
                               "'");
        }
        config.gateway = *gw;
    }
    const auto delay = seconds(boot_delay, 3600);
    const auto lt = seconds(listen_timeout, 86400);
    const auto st = seconds(stop_timeout, 3600);
    if (!delay) return usage_error("--boot-delay: 0..3600 seconds expected");
    if (!lt || lt->count() == 0)
        return usage_error("--listen-timeout: (0, 86400] seconds expected");
    if (!st) return usage_error("--stop-timeout: 0..3600 seconds expected");
    config.boot_delay = *delay;
    config.listen_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*lt);
    config.stop_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*st);
    if (listen_port != -1) {
        if (listen_port < 1 || listen_port > 65535)
            return usage_error("--listen: 1..65535 expected");
        config.listen_port = static_cast<std::uint16_t>(listen_port);
    }
    if (domid_opt->count() > 0 && (domid == 0 || domid >= 0x7FF0)) {
        // 0 is the host (dom0); from 0x7FF0 Xen reserves the ids (DOMID_FIRST_RESERVED).
        return usage_error("--domid: 1..32751 expected, got " + std::to_string(domid));
    }
    if (!config.ready_key.empty()) {
        config.domid = domid;
        if (config.ready_key.find_first_not_of(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@/-") !=
                std::string::npos ||
            config.ready_key.front() == '/') {
            return usage_error("--ready-key: a relative Xenstore path of [A-Za-z0-9_@/-] expected");
        }
    }

    if (config.ready_fd >= 0) {
        // Not inherited by CMD: its EOF must mean that jitsu-netvm has ended.
        const int flags = ::fcntl(config.ready_fd, F_GETFD);
        if (config.ready_fd <= 2 || flags < 0 ||
            ::fcntl(config.ready_fd, F_SETFD, flags | FD_CLOEXEC) != 0) {
            return usage_error("--ready-fd: an open descriptor above 2 expected");
        }
    }
    ::signal(SIGPIPE, SIG_IGN);
    jitsu::init_logging("jitsu-netvm", verbosity, log_format);
    return static_cast<int>(jitsu::guest::run_netvm(config));
}
