// jitsu-ctl: operator commands over jitsu's Xenstore tree. `jitsu-ctl status` lists the
// VMs jitsu-dns manages (see include/jitsu_ctl/status.h).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "jitsu_ctl/status.h"
#include "jitsu_ctl/xenstore_reader.h"
#include "xenstore/client.h"

namespace {

constexpr const char* description =
    "jitsu-ctl: look at a running jitsu from its Xenstore tree.\n"
    "\n"
    "status: one line per VM that jitsu-dns manages (/jitsu/vm): name, IP, state, domid,\n"
    "time since its last DNS request, masked connections (SYNs synjitsu queued for the\n"
    "VM to replay; \"(synjitsu)\" while synjitsu masks its boot) and the last backend\n"
    "error. LAST BOOT is always \"-\": the tree does not record boot times.\n"
    "\n"
    "Exit codes: 0 listed; 1 Xenstore unreachable or unreadable; 2 bad usage.";

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{description, "jitsu-ctl"};
    app.set_version_flag("--version", "jitsu-ctl 0.1.0");
    app.require_subcommand(1);
    app.footer(
        "status options:\n  --json                      One JSON document instead of the table\n\n"
        "Example: jitsu-ctl --xenstore /run/xenstored/socket status --json");
    std::string socket_path = jitsu::xenstore::default_socket_path();
    app.add_option("--xenstore", socket_path,
                   "Xenstore socket (default: $XENSTORED_PATH or /run/xenstored/socket)")
        ->capture_default_str();
    bool json = false;
    auto* status = app.add_subcommand("status", "List the VMs and their state");
    status->add_flag("--json", json, "One JSON document instead of the table");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::CallForVersion&) {
        std::fputs("jitsu-ctl 0.1.0\n", stdout);
        return 0;
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "jitsu-ctl: %s (see --help)\n", e.what());
        return 2;
    }

    try {
        auto tree = jitsu::ctl::connect_xenstore_reader(socket_path);
        const auto report = jitsu::ctl::collect_status(*tree);
        const std::string out =
            json ? jitsu::ctl::format_json(report)
                 : jitsu::ctl::format_table(report, std::chrono::system_clock::now());
        std::fputs(out.c_str(), stdout);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "jitsu-ctl: %s\n", e.what());
        return 1;
    }
}
