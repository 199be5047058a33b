#include "jitsu_dns/options.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <map>
#include <stdexcept>

#include "common/log_options.h"
#include "jitsu_dns/catalog.h"
#include "xenstore/client.h"

namespace jitsu::dns {

namespace {

constexpr const char* description =
    "jitsu-dns: a DNS server that boots the VM behind a name when the name is queried,\n"
    "masks its boot time (response_delay, wait_for_key, wait_for_port or synjitsu), stops\n"
    "it after 2xTTL without queries, and keeps its state in Xenstore under /jitsu/vm.\n\n"
    "VMSPEC: key=value,... e.g.\n"
    "  dns=www.example.org,ip=10.0.0.10,name=www,nic=br0,cmd=/usr/bin/server --port 80\n"
    "keys: dns (repeatable), ip, ip6, name, mac, uuid, ttl, response_delay, wait_for_key,\n"
    "  wait_timeout, use_synjitsu, stop_mode, kernel, initrd, domain_type, memory, cmdline,\n"
    "  nic, script, disk (repeatable), rumprun_config, cmd, boot_delay, prefix, gateway,\n"
    "  wait_for_port, replay (guest|host), port (repeatable)\n";

constexpr const char* exit_codes =
    "\nExit codes: 0 stopped by SIGTERM/SIGINT; 1 runtime error; 2 bad flags, VMSPEC or\n"
    "--config; 3 Xenstore unreachable at start; 4 DNS sockets cannot be bound; 5 backend\n"
    "unavailable.\n";

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

}  // namespace

parse_outcome parse_command_line(int argc, const char* const* argv) {
    CLI::App app{description, "jitsu-dns"};
    app.footer(exit_codes);
    app.set_version_flag("--version", "jitsu-dns 0.1.0");
    daemon_options o;
    const std::map<std::string, stop_mode> modes{{"destroy", stop_mode::destroy},
                                                 {"suspend", stop_mode::suspend},
                                                 {"shutdown", stop_mode::shutdown}};

    app.add_option("-b,--bind", o.bind,
                   "Address to serve DNS on, UDP and TCP (repeatable: -b 0.0.0.0 -b ::). UDP "
                   "answers leave from the address asked; :: alone takes IPv4 too")
        ->capture_default_str()
        ->type_name("ADDR")
        ->allow_extra_args(false);
    app.add_option("-l,--listen", o.listen, "DNS port")->capture_default_str();
    app.add_option("-f,--forwarder", o.forwarder,
                   "Resolver for names outside our zones (default: the first nameserver of "
                   "/etc/resolv.conf; 0.0.0.0: none, such queries get REFUSED)");
    app.add_option("-p,--port", o.forwarder_port, "Forwarder port")->capture_default_str();
    app.add_option("--allow-forward", o.allow_forward,
                   "Clients (CIDR, repeatable) whose names outside our zones are forwarded; "
                   "others get REFUSED (default: loopback and the networks of this network "
                   "namespace's interfaces; 0.0.0.0/0 and ::/0 make an open resolver)")
        ->type_name("CIDR")
        ->allow_extra_args(false);
    app.add_option("--max-tcp", o.max_tcp,
                   "TCP connections in all; when full, a newcomer closes the longest-idle "
                   "connection of the client holding the most")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{65536}));
    app.add_option("--max-tcp-per-client", o.max_tcp_per_client,
                   "TCP connections one client (IPv4 address, IPv6 /64) may hold; beyond: "
                   "closed at once")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{65536}));
    app.add_option("--tcp-idle-timeout", o.tcp_idle_timeout_s,
                   "Seconds a TCP connection may stay idle before it is closed")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 3600.0));
    app.add_option("-t,--ttl", o.ttl, "DNS TTL in seconds; VMs stop after 2xTTL without queries")
        ->capture_default_str()
        ->check(CLI::Range(0U, 7U * 24 * 3600));
    app.add_option("-d,--delay", o.delay_s, "Default response_delay in seconds")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("-m,--mode", o.mode, "Default stop mode: destroy, suspend or shutdown")
        ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case).description(""))
        ->option_text("destroy|suspend|shutdown (destroy)");
    app.add_option("-x,--backend", o.backend, "VM backend: netns, libvirt or libxl")
        ->capture_default_str()
        ->check(CLI::IsMember({"netns", "libvirt", "libxl"}));
    app.add_option("-c,--connect", o.connect, "libvirt URI (e.g. test:///default, xen:///system)");
    app.add_option("--libvirt-console-dir", o.libvirt_console_dir,
                   "libvirt: log each transient domain's serial console to DIR/NAME.console.log "
                   "(default: a pty only, `virsh console NAME`)")
        ->check([](const std::string& dir) {
            return !dir.empty() && dir.front() == '/' ? std::string{}
                                                      : std::string{"must be an absolute path"};
        });
    app.add_option("--stop-grace", o.stop_grace_s,
                   "stop_mode=shutdown: seconds a VM may take to stop before it is destroyed "
                   "(netns: jitsu-netvm's clean-up before SIGKILL)")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 3600.0));
    app.add_flag("--synjitsu", o.synjitsu,
                 "Announce booting use_synjitsu VMs to synjitsu (/synjitsu/booting/<ip>)");
    // Repeatable options take one value per occurrence: CLI11 would otherwise take the
    // VMSPECs that follow as further values (`--zone Z VMSPEC`).
    app.add_option("--config", o.config_files, "File of VMSPECs, one per line (repeatable)")
        ->check(CLI::ExistingFile)
        ->allow_extra_args(false);
    app.add_option("--zone", o.zones,
                   "A zone to serve (repeatable; default: each dns name's parent domain)")
        ->allow_extra_args(false);
    app.add_option("--wait-timeout", o.wait_timeout_s,
                   "Default bound of wait_for_key and wait_for_port, in seconds; the answer goes "
                   "out anyway")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("--max-booting", o.max_booting,
                   "VMs booting at once (0: no limit). A query for a stopped VM beyond it queues "
                   "the VM, its answer held, while fewer than 4 x N VMs wait; a full queue, or "
                   "no slot within 5 s, gets SERVFAIL")
        ->capture_default_str()
        ->check(CLI::Range(0U, 100000U));
    app.add_option("--max-running", o.max_running,
                   "VMs running, booting or queued at once (0: no limit); a query that would "
                   "boot or resume one more gets SERVFAIL (nothing is stopped to make room)")
        ->capture_default_str()
        ->check(CLI::Range(0U, 100000U));
    app.add_flag("--stop-on-exit", o.stop_on_exit,
                 "On SIGTERM/SIGINT stop every VM (default: leave them running)");
    app.add_option("--xenstore", o.xenstore_path,
                   "Xenstore socket (default: $XENSTORED_PATH or /run/xenstored/socket)");
    app.add_option("--netvm", o.netvm_path,
                   "netns backend: the jitsu-netvm program (default: next to jitsu-dns)");
    app.add_option("--bridge-netns", o.bridge_netns,
                   "netns backend: the `ip netns` namespace holding the bridges (default: ours)");
    app.add_option("--resolv-conf", o.resolv_conf, "Where the default forwarder is read from")
        ->capture_default_str();
    int quiet = 0;
    app.add_flag("-v,--verbose", o.verbosity, "More logging (repeat for trace)");
    app.add_flag("-q,--quiet", quiet, "Warnings and errors only");
    add_log_format_option(app, o.log);
    app.add_option("VMSPEC", o.specs, "VMs: key=value,... (see above)");

    parse_outcome out;
    try {
        app.parse(argc, argv);
        if (o.specs.empty() && o.config_files.empty()) {
            throw CLI::RequiredError("at least one VMSPEC or --config");
        }
    } catch (const CLI::ParseError& e) {
        out.exit_code = e.get_exit_code() == 0 ? exit_ok : exit_usage;
        if (e.get_exit_code() == 0) {
            out.message = dynamic_cast<const CLI::CallForVersion*>(&e) != nullptr
                              ? std::string("jitsu-dns 0.1.0\n")
                              : app.help();
        } else {
            out.message = fmt::format("jitsu-dns: {}\n", e.what());
        }
        return out;
    }
    if (quiet > 0) o.verbosity = -1;
    if (o.xenstore_path.empty()) o.xenstore_path = xenstore::default_socket_path();
    out.options = std::move(o);
    return out;
}

std::vector<vm_spec> build_catalog(const daemon_options& o) {
    catalog_defaults defaults;
    defaults.ttl = o.ttl;
    defaults.response_delay = to_ms(o.delay_s);
    defaults.wait_timeout = to_ms(o.wait_timeout_s);
    defaults.stop = o.mode;
    std::vector<vm_spec> catalog;
    for (const auto& spec : o.specs) catalog.push_back(parse_vm_spec(spec, defaults));
    for (const auto& file : o.config_files) {
        auto more = load_config_file(file, defaults);
        for (auto& vm : more) catalog.push_back(std::move(vm));
    }
    validate_catalog(catalog);
    if (!o.synjitsu) {
        for (const auto& vm : catalog) {
            if (vm.use_synjitsu) {
                throw std::invalid_argument(fmt::format(
                    "{}: use_synjitsu=1 needs --synjitsu (synjitsu must be running)", vm.origin));
            }
        }
    }
    return catalog;
}

}  // namespace jitsu::dns
