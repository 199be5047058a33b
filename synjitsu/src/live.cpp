#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <memory>

#include "common/format.h"
#include "common/service_notify.h"
#include "synjitsu/engine.h"
#include "synjitsu/netlink.h"
#include "synjitsu/pcap_live.h"
#include "synjitsu/runners.h"
#include "synjitsu/tcp_prober.h"
#include "synjitsu/xenstore_queue_store.h"
#include "synjitsu/xenstore_state.h"
#include "synjitsu/xenstore_taker.h"

namespace jitsu::synjitsu {

namespace {

namespace asio = boost::asio;

std::uint64_t unix_now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

// Everything a live run owns, wired on one io_context (one thread).
class live_runner {
  public:
    explicit live_runner(const config& cfg)
        : cfg_(cfg),
          link_(make_netlink_monitor(io_, cfg.interface)),
          announce_timer_(io_),
          replay_timer_(io_),
          housekeeping_timer_(io_),
          shutdown_timer_(io_),
          signals_(io_, SIGINT, SIGTERM),
          usr1_(io_, SIGUSR1) {}

    int run() {
        const auto link = link_->query();
        if (!link) {
            spdlog::error("{}: no such interface", cfg_.interface);
            return exit_failure;
        }
        spdlog::info("{}: index {}, MAC {}, MTU {}, {}", cfg_.interface, link->ifindex, link->mac,
                     link->mtu, link->up ? "up" : "down");
        metrics_.link_up = link->up ? 1 : 0;
        link_up_ = link->up;

        pcap_live_options popts;
        popts.interface = cfg_.interface;
        popts.snaplen = std::max(2048, static_cast<int>(link->mtu) + 64);
        popts.filter = syn_filter;
        syn_port_ = std::make_unique<pcap_live>(io_, popts);
        popts.filter = duty_filter;
        popts.buffer_bytes = 1 << 20;
        port_ = std::make_unique<pcap_live>(io_, popts);

        xenstore::client_options xopts;
        client_ = std::make_unique<xenstore::client>(io_.get_executor(), xopts);
        if (!connect_xenstore(xopts.socket_path)) return exit_xenstore;

        store_ = std::make_unique<xenstore_queue_store>(*client_);
        engine_ = std::make_unique<engine>(*port_, *store_, metrics_, cfg_.limits, random_isn_key(),
                                           cfg_.max_vms);
        engine_->on_schedule_changed([this] { arm_announcements(); });
        enable_host_replay();
        for (const auto& b : cfg_.booting) {
            engine_->add_vm(b.ip, b.mac, vm_source::command_line, unix_now_ns());
        }
        state_ = std::make_unique<xenstore_state>(*client_, *engine_, unix_now_ns);
        asio::co_spawn(
            io_,
            [this]() -> xenstore::asio::awaitable<void> {
                auto r = co_await state_->start();
                if (!r.ok()) {
                    spdlog::error("xenstore: cannot watch {} / {}: {}", booting_dir, ip_dir,
                                  r.error().message());
                    shutdown(exit_xenstore);
                }
            },
            asio::detached);

        link_->watch([this](const link_info& info) { on_link(info); });
        auto deliver = [this](std::span<const std::uint8_t> frame, std::uint64_t t) {
            engine_->on_frame(frame, t);
        };
        port_->start(deliver);
        syn_port_->start(deliver);
        client_->on_state([this](xenstore::connection_state s, std::error_code why) {
            if (s == xenstore::connection_state::disconnected) {
                spdlog::warn("xenstore: connection lost ({}), reconnecting", why.message());
            } else {
                spdlog::info("xenstore: reconnected");
            }
        });
        signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            spdlog::info("signal {}: shutting down", sig);
            shutdown(exit_ok);
        });
        wait_usr1();
        housekeeping();
        arm_announcements();
        spdlog::info("synjitsu on {}: {} booting VM(s) from the command line, watching {}",
                     cfg_.interface, cfg_.booting.size(), booting_dir);
        notify_ready("capturing on " + cfg_.interface);
        io_.run();
        spdlog::info("counters at exit:\n{}", format_metrics_text(metrics_));
        write_metrics();
        return exit_code_;
    }

  private:
    // Probes from this namespace on this loop, takes through this Xenstore client, a
    // timer for the probe schedule (host_replay.h).
    void enable_host_replay() {
        prober_ = std::make_unique<tcp_prober>(
            io_,
            [this](probe_id id, probe_outcome outcome, std::error_code ec) {
                engine_->replay()->on_probe_result(id, outcome, ec, unix_now_ns());
            },
            [this](const ip_address& ip, const mac_address& mac) {
                if (const auto ec = link_->hint_neighbour(ip, mac); ec && !warned_neighbour_) {
                    spdlog::warn(
                        "{}: cannot hint the neighbour cache with {} -> {} ({}): "
                        "probes may wait for ARP",
                        cfg_.interface, ip, mac, ec.message());
                    warned_neighbour_ = true;
                }
            });
        taker_ = std::make_unique<xenstore_taker>(
            *client_, [this](std::uint64_t ticket, take_outcome&& outcome) {
                engine_->replay()->on_take_done(ticket, std::move(outcome), unix_now_ns());
            });
        engine_->enable_host_replay(*prober_, *taker_, cfg_.host_replay);
        engine_->replay()->on_schedule_changed([this] { rearm_host_replay_soon(); });
    }

    // After the current handler: host_replay reports a change in the middle of one.
    void rearm_host_replay_soon() {
        if (replay_rearm_posted_) return;
        replay_rearm_posted_ = true;
        asio::post(io_, [this] {
            replay_rearm_posted_ = false;
            arm_host_replay();
        });
    }

    void arm_host_replay() {
        if (stopping_) return;
        const auto next = engine_->replay()->next_wakeup();
        if (!next) {
            replay_timer_.cancel();
            return;
        }
        const std::uint64_t now = unix_now_ns();
        replay_timer_.expires_after(std::chrono::nanoseconds(*next > now ? *next - now : 0));
        replay_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;  // re-armed or shutting down
            engine_->replay()->on_tick(unix_now_ns());
            arm_host_replay();
        });
    }

    bool connect_xenstore(const std::string& path) {
        std::error_code ec = make_error_code(xenstore::client_errc::not_connected);
        bool done = false;
        asio::co_spawn(
            io_,
            [&]() -> xenstore::asio::awaitable<void> {
                auto r = co_await client_->connect();
                ec = r.error();
                done = true;
            },
            asio::detached);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!done && std::chrono::steady_clock::now() < deadline) {
            io_.run_one_for(std::chrono::milliseconds(50));
        }
        io_.restart();
        if (!done || ec) {
            spdlog::error("cannot reach Xenstore at {} (set XENSTORED_PATH): {}", path,
                          done ? ec.message() : "timeout");
            return false;
        }
        return true;
    }

    void arm_announcements() {
        if (stopping_) return;
        const auto next = engine_->next_announcement();
        if (!next) return;
        const std::uint64_t now = unix_now_ns();
        const auto delay = std::chrono::nanoseconds(*next > now ? *next - now : 0);
        announce_timer_.expires_after(delay);
        announce_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;  // re-armed or shutting down
            if (link_up_) engine_->on_tick(unix_now_ns());
            arm_announcements();
        });
    }

    void housekeeping() {
        housekeeping_timer_.expires_after(std::chrono::seconds(1));
        housekeeping_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping_) return;
            engine_->writer().prune(unix_now_ns());
            const auto duty = port_->counters();
            const auto syns = syn_port_->counters();
            metrics_.pcap_kernel_drops = duty.dropped + syns.dropped;
            metrics_.pcap_interface_drops = duty.if_dropped + syns.if_dropped;
            write_metrics();
            housekeeping();
        });
    }

    void write_metrics() {
        if (cfg_.metrics_file.empty()) return;
        if (!write_file_atomically(cfg_.metrics_file, format_metrics_prometheus(metrics_))) {
            spdlog::warn("cannot write {}", cfg_.metrics_file);
        }
    }

    void wait_usr1() {
        usr1_.async_wait([this](const boost::system::error_code& ec, int) {
            if (ec) return;
            spdlog::info("counters:\n{}", format_metrics_text(metrics_));
            wait_usr1();
        });
    }

    void on_link(const link_info& info) {
        metrics_.link_up = info.up ? 1 : 0;
        if (info.up == link_up_) return;
        link_up_ = info.up;
        spdlog::info("{} is {}", cfg_.interface, info.up ? "up" : "down");
        // Neighbours may have missed the announcements while the link was down.
        if (info.up) engine_->restart_announcements(unix_now_ns());
    }

    // Stops capturing, lets pending Xenstore writes finish (at most 2 s), then stops.
    void shutdown(int code) {
        if (stopping_) return;
        stopping_ = true;
        exit_code_ = code;
        notify_stopping();
        port_->stop();
        syn_port_->stop();
        announce_timer_.cancel();
        replay_timer_.cancel();
        prober_->cancel_all();
        housekeeping_timer_.cancel();
        signals_.cancel();
        usr1_.cancel();
        finish(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    }

    void finish(std::chrono::steady_clock::time_point deadline) {
        if (engine_->writer().idle() || std::chrono::steady_clock::now() >= deadline) {
            if (!engine_->writer().idle()) {
                spdlog::warn("{} Xenstore writes abandoned at shutdown",
                             engine_->writer().pending());
            }
            client_->close();
            io_.stop();
            return;
        }
        shutdown_timer_.expires_after(std::chrono::milliseconds(10));
        shutdown_timer_.async_wait(
            [this, deadline](const boost::system::error_code&) { finish(deadline); });
    }

    const config& cfg_;
    asio::io_context io_{1};
    metrics metrics_;
    std::unique_ptr<link_monitor> link_;
    std::unique_ptr<pcap_live> port_;      // ARP/NDP duty; also sends
    std::unique_ptr<pcap_live> syn_port_;  // SYNs
    std::unique_ptr<xenstore::client> client_;
    std::unique_ptr<xenstore_queue_store> store_;
    // Before engine_: its host replay holds references to them.
    std::unique_ptr<tcp_prober> prober_;
    std::unique_ptr<xenstore_taker> taker_;
    std::unique_ptr<engine> engine_;
    std::unique_ptr<xenstore_state> state_;
    asio::steady_timer announce_timer_;
    asio::steady_timer replay_timer_;
    asio::steady_timer housekeeping_timer_;
    asio::steady_timer shutdown_timer_;
    asio::signal_set signals_;
    asio::signal_set usr1_;
    bool link_up_ = true;
    bool stopping_ = false;
    bool replay_rearm_posted_ = false;
    bool warned_neighbour_ = false;
    int exit_code_ = exit_ok;
};

}  // namespace

int run_live(const config& cfg) {
    live_runner runner(cfg);
    return runner.run();
}

}  // namespace jitsu::synjitsu
