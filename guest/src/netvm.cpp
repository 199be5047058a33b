#include "guest/netvm.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "common/format.h"
#include "common/packet/arp.h"
#include "common/packet/build.h"
#include "common/replay_frame.h"
#include "common/syn_queue.h"
#include "guest/child.h"
#include "guest/listen_probe.h"
#include "guest/netns.h"
#include "guest/packet_socket.h"
#include "guest/rtnl.h"
#include "spdlog/spdlog.h"
#include "syn_take/take.h"
#include "xenstore/client.h"

namespace jitsu::guest {

namespace asio = boost::asio;
namespace xs = jitsu::xenstore;
using clock = std::chrono::steady_clock;

namespace {

constexpr const char* inner_interface_name = "eth0";

double ms(clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A failed step with the exit code it maps to.
struct step_error : std::runtime_error {
    step_error(exit_code c, const std::string& what) : std::runtime_error(what), code(c) {}
    exit_code code;
};

// True if new mounts under /run/netns would not propagate back to the initial mount
// namespace: the mount holding /run/netns is a slave ("master:" in mountinfo), as
// `ip netns exec` makes every mount of its private mount namespace.
bool private_mount_namespace() {
    std::ifstream in("/proc/self/mountinfo");
    std::string line, best_point, best_line;
    for (int i = 0; i < 100000 && std::getline(in, line); ++i) {
        // id parent major:minor root mount-point options optional-fields... - ...
        std::istringstream fields(line);
        std::string id, parent, dev, root, point;
        fields >> id >> parent >> dev >> root >> point;
        const std::string run_netns = netns_run_dir;
        const bool covers =
            run_netns == point || point == "/" || (run_netns.rfind(point + "/", 0) == 0);
        if (covers && point.size() >= best_point.size()) {
            best_point = point;
            best_line = line;
        }
    }
    const auto dash = best_line.find(" - ");
    return best_line.substr(0, dash).find(" master:") != std::string::npos;
}

}  // namespace

std::string outer_interface_name(const std::string& vm_name) {
    std::string name = "vm-" + vm_name;
    if (name.size() <= 15) return name;
    // vm-<first 6>-<5 hex digits of a hash of the whole name>
    std::uint32_t h = 2166136261U;  // FNV-1a
    for (unsigned char c : vm_name) h = (h ^ c) * 16777619U;
    char suffix[8];
    std::snprintf(suffix, sizeof(suffix), "%05x", h & 0xfffffU);
    return "vm-" + vm_name.substr(0, 6) + "-" + suffix;
}

class netvm {
  public:
    netvm(asio::io_context& io, const netvm_config& config)
        : io_(io),
          config_(config),
          signals_(io, SIGTERM, SIGINT, SIGUSR1),
          child_signal_(io, SIGCHLD),
          wake_(io),
          xs_(io.get_executor(), xenstore_options(config)),
          start_(clock::now()),
          last_step_(start_) {
        signals_.add(SIGUSR2);
    }

    asio::awaitable<exit_code> run();

  private:
    static xs::client_options xenstore_options(const netvm_config& config) {
        xs::client_options o;
        if (!config.xenstore_socket.empty()) o.socket_path = config.xenstore_socket;
        o.request_timeout = std::chrono::milliseconds(5000);
        return o;
    }

    // One log line per step: what, time since the previous step, time since start.
    void step(const std::string& what) {
        const auto now = clock::now();
        spdlog::info("{} (+{:.3f} ms, t={:.3f} ms)", what, ms(now - last_step_), ms(now - start_));
        last_step_ = now;
    }

    asio::awaitable<void> signal_loop();
    asio::awaitable<void> child_loop();
    // Sleeps until `deadline` or until a signal / CMD exit needs attention.
    asio::awaitable<void> wait_until(clock::time_point deadline);
    bool interrupted() const { return stop_signal_ != 0 || cmd_exit_.has_value(); }
    // The Xenstore connection is made while the network is set up; these start it and
    // wait for (or check) its outcome.
    asio::awaitable<void> connect_xenstore();
    asio::awaitable<void> await_xenstore();
    void check_xenstore() const;
    void reap();

    // One progress line on config_.ready_fd (errors ignored: the reader may be gone).
    void report(const std::string& line) const;
    void check_command() const;
    void create_network();
    void start_command();
    asio::awaitable<void> wait_listening();
    asio::awaitable<void> go_live();
    asio::awaitable<void> replay(const char* when);
    void announce();
    asio::awaitable<void> write_ready_key();
    asio::awaitable<exit_code> supervise();
    void suspend();
    asio::awaitable<void> resume();
    void teardown() noexcept;
    asio::awaitable<void> remove_xenstore_nodes();

    asio::io_context& io_;
    const netvm_config& config_;
    asio::signal_set signals_;
    asio::signal_set child_signal_;
    asio::steady_timer wake_;
    xs::client xs_;
    clock::time_point start_;
    clock::time_point last_step_;

    std::optional<std::error_code> xs_connected_;  // set once connect() finished
    int stop_signal_ = 0;
    std::vector<int> pending_;  // SIGUSR1/SIGUSR2 not yet handled, in order
    std::optional<int> cmd_exit_;
    bool live_ = false;
    bool suspended_ = false;
    bool took_over_ = false;
    bool ready_written_ = false;

    std::optional<named_netns> bridge_ns_;
    std::optional<named_netns> vm_ns_;
    std::optional<rtnl> bridge_nl_;
    std::optional<rtnl> vm_nl_;
    int bridge_ = 0;
    int outer_ = 0;
    int inner_ = 0;
    std::optional<packet_socket> outer_tx_;
    std::optional<packet_socket> inner_tx_;
    std::optional<listen_probe> probe_;
    std::optional<child_process> cmd_;
};

asio::awaitable<void> netvm::signal_loop() {
    for (;;) {
        boost::system::error_code ec;
        const int sig = co_await signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        if (sig == SIGTERM || sig == SIGINT) {
            if (stop_signal_ == 0) spdlog::info("{}: stopping", ::strsignal(sig));
            stop_signal_ = sig;
        } else {
            pending_.push_back(sig);
        }
        wake_.cancel();
    }
}

asio::awaitable<void> netvm::child_loop() {
    for (;;) {
        boost::system::error_code ec;
        co_await child_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        reap();
        if (cmd_exit_) wake_.cancel();
    }
}

void netvm::reap() {
    if (!cmd_ || cmd_exit_) return;
    if (auto status = cmd_->poll()) cmd_exit_ = *status;
}

asio::awaitable<void> netvm::wait_until(clock::time_point deadline) {
    if (interrupted()) co_return;
    wake_.expires_at(deadline);
    boost::system::error_code ec;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> netvm::connect_xenstore() {
    auto r = co_await xs_.connect();
    xs_connected_ = r ? std::error_code() : r.error();
    wake_.cancel();
}

void netvm::check_xenstore() const {
    if (xs_connected_ && *xs_connected_) {
        throw step_error(exit_code::xenstore, "cannot reach Xenstore at " +
                                                  xs_.options().socket_path + ": " +
                                                  xs_connected_->message());
    }
}

asio::awaitable<void> netvm::await_xenstore() {
    const auto deadline = clock::now() + xs_.options().request_timeout;
    while (!xs_connected_ && !interrupted() && clock::now() < deadline) {
        co_await wait_until(deadline);
    }
    if (interrupted()) co_return;
    if (!xs_connected_) xs_connected_ = make_error_code(xs::client_errc::timeout);
    check_xenstore();
}

void netvm::create_network() {
    auto open_bridge_side = [&] {
        bridge_nl_.emplace();
        outer_tx_.emplace();
    };
    if (!config_.bridge_netns.empty()) {
        bridge_ns_.emplace(named_netns::open(config_.bridge_netns));
        in_netns(bridge_ns_->fd(), open_bridge_side);
    } else {
        open_bridge_side();
    }
    const std::string where =
        config_.bridge_netns.empty() ? "" : " in namespace " + config_.bridge_netns;
    const auto bridge = bridge_nl_->ifindex(config_.bridge);
    if (!bridge) throw std::runtime_error("no bridge '" + config_.bridge + "'" + where);
    if (!bridge_nl_->is_bridge(*bridge)) {
        throw std::runtime_error("'" + config_.bridge + "'" + where + " is not a bridge");
    }
    bridge_ = *bridge;

    if (private_mount_namespace()) {
        spdlog::warn(
            "running in a private (slave) mount namespace (ip netns exec?): "
            "namespace {} will not be usable by `ip netns` outside it; run "
            "jitsu-netvm in the initial namespaces with --netns-of-bridge instead",
            config_.name);
    }
    // A namespace of this name that no process is in was left by a jitsu-netvm killed with
    // -9 (no clean-up ran): remove it, and its veth's outer end if still there, so the VM
    // can start again. One with a process in it is someone's: create() reports EEXIST.
    if (named_netns::remove_if_stale(config_.name)) {
        spdlog::warn(
            "removed stale network namespace {} (no process in it: left by a killed "
            "jitsu-netvm)",
            config_.name);
        if (const auto old = bridge_nl_->ifindex(outer_interface_name(config_.name))) {
            bridge_nl_->delete_link_noexcept(*old);
        }
    }
    // Everything that lives in the VM's namespace is opened by the thread creating it.
    vm_ns_.emplace(named_netns::create(config_.name, [&] {
        vm_nl_.emplace();
        probe_.emplace();
        inner_tx_.emplace();
    }));
    step("namespace " + config_.name + " created");
    const std::string outer_name = outer_interface_name(config_.name);
    bridge_nl_->create_veth(outer_name, inner_interface_name, config_.mac, vm_ns_->fd());
    outer_ = bridge_nl_->ifindex_or_throw(outer_name);
    inner_ = vm_nl_->ifindex_or_throw(inner_interface_name);
    step(fmt::format("veth {} <-> {}:{} ({}) created", outer_name, config_.name,
                     inner_interface_name, config_.mac));

    vm_nl_->set_up(vm_nl_->ifindex_or_throw("lo"), true);
    vm_nl_->set_up(inner_, true);
    vm_nl_->add_address(inner_, config_.ip, config_.prefix_length);
    if (config_.gateway) vm_nl_->add_default_route(*config_.gateway, inner_);
    // Up but not on the bridge: off the wire, carrier and queues ready for the replay.
    bridge_nl_->set_up(outer_, true);
    outer_tx_->bind(outer_);
    inner_tx_->bind(inner_);
    step(fmt::format("{}: {}/{}{} configured, lo up; {} up, off the bridge", inner_interface_name,
                     config_.ip, config_.prefix_length,
                     config_.gateway ? fmt::format(" via {}", *config_.gateway) : std::string(),
                     outer_name));
}

void netvm::report(const std::string& line) const {
    if (config_.ready_fd < 0) return;
    // One short line (under PIPE_BUF: written whole into a pipe); EPIPE ignored (SIGPIPE is).
    std::string text = line.substr(0, 512);
    std::replace(text.begin(), text.end(), '\n', ' ');
    text.push_back('\n');
    [[maybe_unused]] const ssize_t n = ::write(config_.ready_fd, text.data(), text.size());
}

// A CMD that cannot be executed fails now, not after --boot-delay.
void netvm::check_command() const {
    const std::string path = resolve_command(config_.command.front());
    if (::access(path.c_str(), X_OK) != 0) {
        throw step_error(exit_code::cmd_failed,
                         fmt::format("cannot start CMD: exec {}: {}", config_.command.front(),
                                     std::strerror(errno)));
    }
}

void netvm::start_command() {
    try {
        cmd_.emplace(child_process::spawn(config_.command, vm_ns_->fd()));
    } catch (const std::system_error& e) {
        throw step_error(exit_code::cmd_failed, std::string("cannot start CMD: ") + e.what());
    }
    step(fmt::format("CMD started: pid {} ({})", cmd_->pid(), config_.command.front()));
}

asio::awaitable<void> netvm::wait_listening() {
    const auto begin = clock::now();
    const auto deadline = begin + config_.listen_timeout;
    for (std::uint64_t probes = 1;; ++probes) {
        reap();
        if (interrupted()) co_return;
        std::error_code ec;
        if (const auto port = probe_->listening(config_.listen_port, ec)) {
            step(
                fmt::format("CMD listens on TCP port {} ({} probes, {:.3f} ms after start; "
                            "listening {:.3f} ms after jitsu-netvm start)",
                            *port, probes, ms(clock::now() - begin), ms(clock::now() - start_)));
            co_return;
        }
        if (ec) throw std::runtime_error("sock_diag probe: " + ec.message());
        const auto now = clock::now();
        if (now >= deadline) {
            throw step_error(
                exit_code::cmd_failed,
                fmt::format("CMD did not listen on {} within {} ms",
                            config_.listen_port ? "TCP port " + std::to_string(*config_.listen_port)
                                                : std::string("any TCP port"),
                            config_.listen_timeout.count()));
        }
        co_await wait_until(std::min(deadline, now + config_.listen_poll));
    }
}

asio::awaitable<void> netvm::replay(const char* when) {
    const std::array<ip_address, 1> ips{config_.ip};
    auto taken = co_await take_queued_syns(xs_, ips);
    if (!taken) {
        spdlog::error("taking the queued SYNs ({}) failed: {} — none replayed", when,
                      taken.error().message());
        co_return;
    }
    took_over_ = true;
    for (const auto& m : taken->malformed) {
        spdlog::warn("removed malformed queued SYN {}: {}", m.path, m.reason);
    }
    step(
        fmt::format("took {} queued SYN(s), {} malformed, /ip/{} managed ({} attempt(s){}, "
                    "{:.3f} ms)",
                    taken->syns.size(), taken->malformed.size(), config_.ip.to_xenstore(),
                    taken->attempts, taken->two_step ? ", two-step" : "", ms(taken->elapsed)));
    if (taken->syns.empty()) co_return;

    // Next hops first, so the SYN/ACKs need no ARP/ND round trip.
    std::set<ip_address> seeded;
    for (const auto& syn : taken->syns) {
        std::optional<ip_address> hop;
        if (same_subnet(config_.ip, syn.tuple.remote_ip, config_.prefix_length)) {
            hop = syn.tuple.remote_ip;
        } else if (config_.gateway && config_.gateway->is_v4() == syn.tuple.remote_ip.is_v4()) {
            hop = config_.gateway;
        }
        if (!hop || !seeded.insert(*hop).second) continue;
        try {
            vm_nl_->set_neighbour(inner_, *hop, syn.client_mac);
            spdlog::debug("neighbour {} -> {}", *hop, syn.client_mac);
        } catch (const std::exception& e) {
            spdlog::warn("{}", e.what());
        }
    }
    std::size_t sent = 0;
    for (const auto& syn : taken->syns) {
        const auto frame = replay_frame(syn, config_.mac);
        if (!frame) {
            spdlog::warn("queued SYN {} has no TCP frame; skipped", syn.tuple);
            continue;
        }
        if (auto ec = outer_tx_->send(*frame)) {
            spdlog::warn("replaying {} failed: {}", syn.tuple, ec.message());
            continue;
        }
        ++sent;
        spdlog::debug("replayed {} (seq {}, seen {}x, queued at {} ns)", syn.tuple, syn.sequence,
                      syn.count, syn.time_ns);
    }
    step(fmt::format("replayed {} SYN(s) into {} ({} neighbour(s) pre-seeded)", sent, config_.name,
                     seeded.size()));
}

void netvm::announce() {
    std::array<std::uint8_t, 128> buf{};
    std::size_t n = 0;
    if (const auto* v4 = config_.ip.if_v4()) {
        n = packet::build_gratuitous_arp(buf, config_.mac, *v4);
    } else {
        const auto all_nodes = *ipv6_address::parse("ff02::1");
        packet::ethernet_fields eth{all_nodes.multicast_mac(), config_.mac, {}};
        packet::neighbor_advertisement_fields na{config_.ip.v6(), false, false, true, config_.mac};
        n = packet::build_neighbor_advertisement_frame(buf, eth, config_.ip.v6(), all_nodes, na);
    }
    if (n == 0) {
        spdlog::warn("could not build the announcement for {}", config_.ip);
        return;
    }
    if (auto ec = inner_tx_->send(std::span(buf.data(), n))) {
        spdlog::warn("announcing {} failed: {}", config_.ip, ec.message());
        return;
    }
    step(fmt::format("announced {} at {} ({})", config_.ip, config_.mac,
                     config_.ip.is_v4() ? "gratuitous ARP" : "unsolicited NA"));
}

asio::awaitable<void> netvm::write_ready_key() {
    if (config_.ready_key.empty()) co_return;
    const std::string path =
        "/local/domain/" + std::to_string(config_.domid.value_or(0)) + "/" + config_.ready_key;
    auto r = co_await xs_.write(path, "ready");
    if (!r) {
        spdlog::error("writing {} failed: {}", path, r.error().message());
        co_return;
    }
    ready_written_ = true;
    step(path + " = ready");
}

asio::awaitable<void> netvm::go_live() {
    co_await await_xenstore();
    if (interrupted()) co_return;
    bridge_nl_->set_master(outer_, bridge_);
    live_ = true;
    step("attached to " + config_.bridge);
    co_await replay("boot");
    announce();
    co_await write_ready_key();
    report("ready");
    spdlog::info("{} is up: {} at {} ({:.3f} ms since start)", config_.name, config_.ip,
                 config_.mac, ms(clock::now() - start_));
}

void netvm::suspend() {
    if (suspended_) return;
    cmd_->signal_group(SIGSTOP);
    try {
        // Detaching (rather than downing the link) keeps the VM off the wire while
        // its carrier and queues stay ready for the resume's replay.
        bridge_nl_->set_master(outer_, 0);
    } catch (const std::exception& e) {
        spdlog::warn("{}", e.what());
    }
    suspended_ = true;
    step("suspended (SIGSTOP to CMD's process group, detached from " + config_.bridge + ")");
}

asio::awaitable<void> netvm::resume() {
    if (!suspended_) co_return;
    cmd_->signal_group(SIGCONT);
    try {
        bridge_nl_->set_master(outer_, bridge_);
    } catch (const std::exception& e) {
        spdlog::warn("{}", e.what());
    }
    suspended_ = false;
    step("resumed (SIGCONT, attached to " + config_.bridge + ")");
    co_await replay("resume");
    announce();
}

asio::awaitable<exit_code> netvm::supervise() {
    for (;;) {
        reap();
        if (cmd_exit_) {
            spdlog::error("CMD {}", describe_wait_status(*cmd_exit_));
            co_return exit_code::cmd_exited;
        }
        if (stop_signal_ != 0) co_return exit_code::ok;
        if (!pending_.empty()) {
            const int sig = pending_.front();
            pending_.erase(pending_.begin());
            if (sig == SIGUSR1) {
                suspend();
            } else {
                co_await resume();
            }
            continue;
        }
        co_await wait_until(clock::time_point::max());
    }
}

void netvm::teardown() noexcept {
    const auto begin = clock::now();
    if (cmd_ && cmd_->running()) {
        const int status = cmd_->stop(config_.stop_timeout);
        spdlog::info("CMD {}", describe_wait_status(status));
    }
    if (vm_ns_) {
        // Anything CMD left behind in other process groups.
        for (int round = 0; round < 100; ++round) {
            const auto pids = netns_pids(vm_ns_->inode());
            if (pids.empty()) break;
            for (pid_t p : pids) {
                if (round == 0) spdlog::warn("killing leftover process {} in {}", p, config_.name);
                ::kill(p, SIGKILL);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    if (outer_ != 0 && bridge_nl_) {
        if (!bridge_nl_->delete_link_noexcept(outer_)) spdlog::warn("deleting the veth failed");
        outer_ = 0;
    }
    outer_tx_.reset();
    inner_tx_.reset();
    probe_.reset();
    vm_nl_.reset();
    if (vm_ns_) {
        if (!vm_ns_->remove()) spdlog::warn("removing namespace {} failed", config_.name);
        vm_ns_.reset();
    }
    spdlog::info("removed veth and namespace {} ({:.3f} ms)", config_.name,
                 ms(clock::now() - begin));
}

asio::awaitable<void> netvm::remove_xenstore_nodes() {
    std::vector<std::string> paths;
    if (ready_written_) {
        paths.push_back("/local/domain/" + std::to_string(config_.domid.value_or(0)) + "/" +
                        config_.ready_key);
    }
    // The VM is gone: a next boot must find /ip/<ip> unmanaged so synjitsu queues again.
    if (took_over_) paths.push_back(ip_root(config_.ip));
    if (paths.empty() || !xs_.connected()) co_return;
    std::vector<xs::batch_op> ops;
    for (const auto& p : paths) ops.push_back(xs::batch_op::rm(p));
    if (auto r = co_await xs_.submit(ops); !r) {
        spdlog::warn("removing this VM's Xenstore nodes failed: {}", r.error().message());
    }
}

asio::awaitable<exit_code> netvm::run() {
    asio::co_spawn(io_, signal_loop(), asio::detached);
    asio::co_spawn(io_, child_loop(), asio::detached);
    exit_code code = exit_code::ok;
    try {
        asio::co_spawn(io_, connect_xenstore(), asio::detached);
        check_command();
        create_network();
        check_xenstore();
        report("started");
        if (config_.boot_delay.count() > 0) {
            // Other events (Xenstore connected, SIGUSR1/2) wake the wait early.
            const auto until =
                clock::now() + std::chrono::duration_cast<clock::duration>(config_.boot_delay);
            while (!interrupted() && clock::now() < until) co_await wait_until(until);
            if (!interrupted()) step("boot delay over");
        }
        if (!interrupted()) start_command();
        if (!interrupted()) co_await wait_listening();
        if (!interrupted()) co_await go_live();
        if (cmd_exit_ && !live_) {
            throw step_error(exit_code::cmd_failed,
                             "CMD " + describe_wait_status(*cmd_exit_) + " before listening");
        }
        code = co_await supervise();
    } catch (const step_error& e) {
        spdlog::error("{}", e.what());
        report(std::string("failed: ") + e.what());
        code = e.code;
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        report(std::string("failed: ") + e.what());
        code = exit_code::failure;
    }
    teardown();
    co_await remove_xenstore_nodes();
    signals_.cancel();
    child_signal_.cancel();
    xs_.close();
    co_return code;
}

exit_code run_netvm(const netvm_config& config) {
    try {
        asio::io_context io;
        std::optional<netvm> vm;
        vm.emplace(io, config);
        exit_code code = exit_code::failure;
        asio::co_spawn(io, vm->run(), [&](std::exception_ptr e, exit_code c) {
            code = e ? exit_code::failure : c;
            io.stop();
        });
        io.run();
        vm.reset();
        return code;
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return exit_code::failure;
    }
}

}  // namespace jitsu::guest
