#include "jitsu_dns/daemon.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <csignal>
#include <ctime>
#include <exception>
#include <optional>

#include "common/service_notify.h"
#include "jitsu_dns/authority_from_catalog.h"
#include "jitsu_dns/backends.h"
#include "jitsu_dns/booter.h"
#include "jitsu_dns/default_forwarder.h"
#include "jitsu_dns/forward_acl.h"
#include "jitsu_dns/server.h"

namespace jitsu::dns {

namespace asio = boost::asio;

namespace {

// Runs `op` on `io` until it completes or `limit` passes; rethrows its exception.
// false if it did not complete in time.
bool run_to_completion(asio::io_context& io, asio::awaitable<void> op,
                       std::chrono::milliseconds limit) {
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(op), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        if (io.stopped()) io.restart();
        io.run_for(std::chrono::milliseconds(10));
    }
    if (error) std::rethrow_exception(error);
    return done;
}

// Whether the forwarder is this very server (a host that resolves through jitsu-dns:
// resolv.conf naming 127.0.0.1): every forwarded query would come back to be forwarded
// again (seen: 8,192 packets on loopback for one query).
bool forwards_to_itself(const asio::ip::udp::endpoint& fw, const daemon_options& o) {
    if (fw.port() != o.listen) return false;
    for (const auto& text : o.bind) {
        boost::system::error_code ec;
        const auto bind = asio::ip::make_address(text, ec);
        if (ec) continue;  // reported by listen_addresses()
        if (bind.is_unspecified() ? is_local_address(fw.address()) : fw.address() == bind)
            return true;
    }
    return false;
}

// -b, each an IP address.
std::vector<asio::ip::address> listen_addresses(const daemon_options& o) {
    std::vector<asio::ip::address> out;
    for (const auto& text : o.bind) {
        boost::system::error_code ec;
        out.push_back(asio::ip::make_address(text, ec));
        if (ec) throw std::invalid_argument("--bind '" + text + "': not an IP address");
    }
    return out;
}

std::string joined(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& s : list) out += (out.empty() ? "" : ", ") + s;
    return out;
}

std::optional<asio::ip::udp::endpoint> forwarder_of(const daemon_options& o) {
    if (o.forwarder.empty()) {
        auto fw = default_forwarder(o.resolv_conf, o.forwarder_port);
        if (!fw)
            spdlog::warn("no nameserver in {}: names outside our zones get REFUSED", o.resolv_conf);
        if (fw && forwards_to_itself(*fw, o)) {
            spdlog::warn(
                "{}'s nameserver {} is this server: not forwarding (names outside our "
                "zones get REFUSED; give -f)",
                o.resolv_conf, fw->address().to_string());
            return std::nullopt;
        }
        return fw;
    }
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(o.forwarder, ec);
    if (ec) throw std::invalid_argument("--forwarder '" + o.forwarder + "': not an IP address");
    if (addr.is_unspecified()) return std::nullopt;  // 0.0.0.0: forwarding disabled
    const asio::ip::udp::endpoint fw(addr, o.forwarder_port);
    if (forwards_to_itself(fw, o)) {
        throw std::invalid_argument("--forwarder " + o.forwarder + " port " +
                                    std::to_string(o.forwarder_port) +
                                    " is this server itself (queries would loop)");
    }
    return fw;
}

// --allow-forward, else loopback and the networks this namespace is attached to.
std::vector<ip_prefix> forward_clients_of(const daemon_options& o) {
    if (o.allow_forward.empty()) return local_networks();
    std::vector<ip_prefix> out;
    for (const auto& text : o.allow_forward) {
        const auto p = ip_prefix::parse(text);
        if (!p)
            throw std::invalid_argument("--allow-forward '" + text +
                                        "': not an address or CIDR prefix");
        out.push_back(*p);
    }
    return out;
}

}  // namespace

int run_daemon(const daemon_options& o) {
    // --- configuration: everything that can be wrong with the command line ---
    std::vector<vm_spec> catalog;
    authority_config authority;
    server_options server_opts;
    try {
        catalog = build_catalog(o);
        server_opts.bind = listen_addresses(o);
        server_opts.port = o.listen;
        server_opts.max_tcp_connections = o.max_tcp;
        server_opts.max_tcp_per_client = o.max_tcp_per_client;
        server_opts.tcp_idle_timeout =
            std::chrono::milliseconds(std::llround(o.tcp_idle_timeout_s * 1000.0));
        server_opts.forwarder = forwarder_of(o);
        server_opts.forward_clients = forward_acl(forward_clients_of(o));
        zone_inputs zones;
        zones.zones = o.zones;
        zones.ttl = o.ttl;
        zones.serial = static_cast<std::uint32_t>(std::time(nullptr));
        // The in-zone name server's address: the first specific IPv4 address we serve on.
        for (const auto& a : server_opts.bind) {
            if (a.is_v4() && !a.is_unspecified()) {
                zones.ns_address = ipv4_address(a.to_v4().to_uint());
                break;
            }
        }
        authority = authority_from_catalog(catalog, zones);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return exit_usage;
    }

    // --- the backend ---
    std::unique_ptr<backend> be;
    try {
        backend_options bo;
        bo.connect_uri = o.connect;
        bo.libvirt_console_dir = o.libvirt_console_dir;
        bo.stop_grace = std::chrono::milliseconds(std::llround(o.stop_grace_s * 1000.0));
        bo.netvm_path = o.netvm_path;
        bo.xenstore_path = o.xenstore_path;
        bo.bridge_netns = o.bridge_netns;
        be = make_backend(o.backend, bo);
    } catch (const std::exception& e) {
        spdlog::error("backend {}: {}", o.backend, e.what());
        return exit_backend;
    }

    asio::io_context io(1);
    // --- Xenstore ---
    xenstore::client_options xo;
    xo.socket_path = o.xenstore_path;
    xenstore::client xs(io.get_executor(), xo);
    std::error_code xs_error;
    const bool connected = run_to_completion(
        io,
        [&]() -> asio::awaitable<void> {
            auto r = co_await xs.connect();
            xs_error = r.error();
        }(),
        std::chrono::seconds(5));
    if (!connected || xs_error) {
        spdlog::error("Xenstore at {} unreachable: {}", o.xenstore_path,
                      connected ? xs_error.message() : std::string("connect timed out"));
        return exit_xenstore;
    }

    booter_options bopts;
    bopts.synjitsu = o.synjitsu;
    bopts.default_wait_timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(o.wait_timeout_s * 1000.0));
    bopts.max_booting = o.max_booting;
    bopts.max_running = o.max_running;
    booter gate(io.get_executor(), catalog, *be, xs, bopts);

    // --- DNS sockets: bound before touching any state, so a bad --bind changes nothing ---
    std::unique_ptr<server> dns;
    try {
        dns = std::make_unique<server>(io, server_opts, authority, &gate);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return exit_bind;
    }

    // --- reconcile + state tree ---
    try {
        if (!run_to_completion(io, gate.start(), std::chrono::seconds(60))) {
            spdlog::error("start-up (reconcile, state tree) did not finish within 60 s");
            return exit_failure;
        }
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return exit_xenstore;
    }

    dns->start();
    spdlog::info(
        "serving {} name(s) of {} VM(s) in {} zone(s) on {} port {} (udp {}, tcp {}), "
        "forwarding to {}, backend {}",
        authority.names.size(), catalog.size(), authority.zones.size(), joined(o.bind), o.listen,
        dns->udp_port(), dns->tcp_port(),
        server_opts.forwarder ? server_opts.forwarder->address().to_string() + ":" +
                                    std::to_string(server_opts.forwarder->port())
                              : std::string("nobody (REFUSED)"),
        be->kind());
    if (server_opts.forwarder) {
        std::string who;
        for (const auto& p : server_opts.forward_clients.prefixes()) {
            who += (who.empty() ? "" : ", ") + p.to_string();
        }
        spdlog::info("forwarding for clients in {} (others: REFUSED; --allow-forward)", who);
    }
    notify_ready(
        fmt::format("serving {} VM(s) on {} port {}", catalog.size(), joined(o.bind), o.listen));

    // --- until SIGTERM / SIGINT ---
    asio::signal_set signals(io, SIGTERM, SIGINT);
    bool stopped = false;
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        spdlog::info("signal {}: shutting down{}", signo,
                     o.stop_on_exit ? ", stopping every VM" : ", VMs left running");
        notify_stopping();
        dns->stop();
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await gate.shutdown(o.stop_on_exit);
                xs.close();
                stopped = true;
                io.stop();
            },
            asio::detached);
    });
    io.run();
    if (!stopped) {
        spdlog::error("event loop ended unexpectedly");
        return exit_failure;
    }
    spdlog::info("stopped ({} queries, {} boots, {} stops)", gate.stats().queries,
                 gate.stats().boots, gate.stats().stops);
    const auto& ds = dns->stats();
    spdlog::info(
        "dns: {} UDP and {} TCP queries, {} dropped; TCP connections: {} closed for room, {} "
        "refused over --max-tcp-per-client, {} refused (all owed answers), {} closed idle",
        ds.queries_udp, ds.queries_tcp, ds.dropped, ds.tcp_evicted, ds.tcp_rejected_per_client,
        ds.tcp_rejected, ds.tcp_idle_closed);
    return exit_ok;
}

}  // namespace jitsu::dns
