#include "xenstored/options.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <vector>

#include "common/log_options.h"

namespace jitsu::xenstored {

namespace {

constexpr const char* description =
    "jitsu-xenstored: a xenstored-compatible Xenstore server on unix sockets, for hosts\n"
    "without Xen. Clients find it through XENSTORED_PATH (libxenstore, the xenstore-*\n"
    "tools, Xen's test-xenstore).\n"
    "\n"
    "Connections on --socket act as dom0 (privileged; relative paths resolve under\n"
    "/local/domain/0/). Connections on a --domain-socket DOMID:PATH act as the\n"
    "unprivileged domain DOMID: relative paths resolve under /local/domain/DOMID/, node\n"
    "permissions and the per-domain quotas apply, privileged requests are refused.\n"
    "\n"
    "--persist FILE keeps committed state across restarts and kill -9: each change is\n"
    "appended to FILE before its reply is sent (not fsync'd unless --persist-fsync);\n"
    "FILE is compacted by atomic replace. If FILE cannot be written (a full disk, EIO),\n"
    "the change is undone and refused with ENOSPC (or EIO), reads are served, and\n"
    "writes work again once there is room; one log line per such episode. A corrupt\n"
    "FILE is refused; an incomplete last record (never acknowledged) is dropped.\n"
    "SIGTERM/SIGINT shut down cleanly. XS_CONTROL \"stats\" prints counters.\n"
    "\n"
    "Exit codes: 0 clean shutdown, 1 start-up failure, 2 bad flags.";

bool parse_u32(std::string_view s, std::uint32_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace

parsed_options parse_options(int argc, const char* const* argv) {
    server_config cfg;
    std::vector<std::string> domain_sockets;
    std::vector<std::string> quota_settings;
    quota_config& q = cfg.quotas;
    log_format log = default_log_format();

    CLI::App app{description, "jitsu-xenstored"};
    app.get_formatter()->column_width(34);
    app.add_option("--socket", cfg.socket_path,
                   "Unix socket for dom0 clients (its directory is created)")
        ->capture_default_str();
    app.add_option("--domain-socket", domain_sockets,
                   "DOMID:PATH: also listen on PATH; its connections act as domain DOMID "
                   "(1-32751). Repeatable")
        ->type_name("DOMID:PATH");
    app.add_option("--persist", cfg.persist_path,
                   "Keep committed state in FILE (created if missing)")
        ->type_name("FILE");
    app.add_flag("--persist-fsync", cfg.persist_fsync,
                 "fdatasync FILE after every change (survive power loss, slower writes)");
    app.add_option("--pid-file", cfg.pid_file, "Write the server's pid to FILE once listening")
        ->type_name("FILE");
    app.add_flag("-v,--verbose", cfg.verbose, "Log every request (debug level)");
    add_log_format_option(app, log);

    const std::string quotas = "Quotas (xenstored's defaults)";
    app.add_option("-E,--entry-nb", q.nodes_per_domain, "Nodes an unprivileged domain may own")
        ->group(quotas)
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("-S,--entry-size", q.node_size,
                   "Node size an unprivileged domain may write (bytes)")
        ->group(quotas)
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("-W,--watch-nb", q.watches,
                   "Watches per unprivileged domain, over all its connections (per "
                   "connection for dom0)")
        ->group(quotas)
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("-t,--transaction", q.transactions,
                   "Open transactions per unprivileged domain, over all its connections (per "
                   "connection for dom0)")
        ->group(quotas)
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("-A,--perm-nb", q.perms_per_node,
                   "Permission entries an unprivileged domain may set on a node")
        ->group(quotas)
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("-M,--path-max", q.path_max,
                   "Path length beyond /local/domain/<domid>/ (at most 2048)")
        ->group(quotas)
        ->capture_default_str()
        ->check(CLI::Range(1, 2048));
    app.add_option("--output-limit", q.output_limit,
                   "Bytes of replies and events queued for an unprivileged domain's "
                   "connections together (for one dom0 connection); beyond it the one with "
                   "the most queued is dropped as a slow reader")
        ->group(quotas)
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("-Q,--quota", quota_settings,
                   "WHAT=N, WHAT one of nodes, watches, transactions, outstanding, "
                   "transaction-nodes, node-size, path-max, permissions, output-limit, "
                   "connections (per unprivileged domain, default 64). "
                   "Repeatable (outstanding: replies a client may leave unread before the "
                   "server stops reading it, default 20; transaction-nodes: nodes one "
                   "transaction of an unprivileged domain may touch, default 1024)")
        ->group(quotas)
        ->type_name("WHAT=N");

    parsed_options out;
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        out.message = app.help();
        return out;
    } catch (const CLI::ParseError& e) {
        out.exit_code = 2;
        out.to_stderr = true;
        out.message = fmt::format("jitsu-xenstored: {} (see --help)\n", e.what());
        return out;
    }

    auto fail = [&](std::string msg) {
        out.exit_code = 2;
        out.to_stderr = true;
        out.message = "jitsu-xenstored: " + msg + " (see --help)\n";
        return out;
    };

    for (const auto& spec : domain_sockets) {
        auto colon = spec.find(':');
        std::uint32_t domid = 0;
        if (colon == std::string::npos || colon + 1 >= spec.size() ||
            !parse_u32(std::string_view(spec).substr(0, colon), domid)) {
            return fail(fmt::format("--domain-socket wants DOMID:PATH, got '{}'", spec));
        }
        if (domid == 0 || domid >= 0x7FF0) {
            return fail(
                fmt::format("--domain-socket: domid {} is not an unprivileged domain "
                            "(1-32751; dom0 uses --socket)",
                            domid));
        }
        cfg.domain_sockets.push_back({spec.substr(colon + 1), domid});
    }
    for (const auto& setting : quota_settings) {
        auto eq = setting.find('=');
        std::uint32_t value = 0;
        if (eq == std::string::npos ||
            !parse_u32(std::string_view(setting).substr(eq + 1), value) ||
            !set_quota(q, setting.substr(0, eq), value)) {
            return fail(
                fmt::format("--quota wants WHAT=N with a known WHAT and N > 0, got '{}'", setting));
        }
    }
    if (q.path_max > 2048) q.path_max = 2048;
    out.config = std::move(cfg);
    out.log = log;
    return out;
}

}  // namespace jitsu::xenstored
