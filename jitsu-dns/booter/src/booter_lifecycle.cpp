// The booter's life around the queries: start-up (reconcile, state tree), idle stop,
// status polls, and shutdown.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <numeric>
#include <stdexcept>

#include "booter_internal.h"
#include "common/syn_record.h"
#include "jitsu_dns/booter.h"
#include "jitsu_dns/reconcile.h"

namespace jitsu::dns {

namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {
asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}
}  // namespace

asio::awaitable<void> booter::start() {
    const steady_time now = steady_clock::now();
    std::vector<std::size_t> all(catalog_.size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    auto status = co_await backend_status(worker_, catalog_, all);
    for (std::size_t vm = 0; vm < catalog_.size(); ++vm) {
        vm_runtime& rt = vms_[vm];
        const auto& st = status[vm];
        if (!st.ok()) {
            spdlog::warn("{}: backend status failed at start ({}): taken as stopped",
                         catalog_[vm].name, st.error);
            rt.error = st.error;
            continue;
        }
        rt.domid = st.value->domid;
        if (st.value->power == vm_power::running) {
            // Booted by an earlier jitsu-dns: adopt it, its idle timer starts now.
            rt.phase = vm_phase::running;
            rt.active_since = now;
            // Later log lines ("... ms after the query") measure from the adoption.
            rt.step_started = now;
            ++stats_.adopted;
            spdlog::info("{}: already running{}: adopted", catalog_[vm].name,
                         rt.domid ? fmt::format(" (domid {})", *rt.domid) : std::string());
        } else if (st.value->power == vm_power::suspended) {
            rt.phase = vm_phase::suspended;
            rt.step_started = now;
            spdlog::info("{}: found suspended: adopted", catalog_[vm].name);
        } else {
            rt.domid.reset();
        }
    }

    // /synjitsu/booting/<ip> of our VMs left by an earlier run: still right only for a VM
    // that runs and whose stack has not taken over yet (then watch it as if we had just
    // booted it); otherwise synjitsu would keep answering for a VM that is not booting.
    for (std::size_t vm = 0; vm < catalog_.size(); ++vm) {
        const auto address = synjitsu_address(catalog_[vm]);
        if (!catalog_[vm].use_synjitsu || !address) continue;
        const std::string path = synjitsu_booting_path(*address);
        auto node = co_await xs_.read(path);
        if (!node.ok()) continue;
        vms_[vm].booting_node = true;
        if (vms_[vm].phase == vm_phase::running && options_.synjitsu &&
            !(co_await is_managed(xs_, *address))) {
            spdlog::info(
                "{}: still booting from an earlier run: keeping its /synjitsu/booting "
                "entry until it is managed",
                catalog_[vm].name);
            watch_until_managed(vm);
        } else {
            withdraw(vm, "stale, from an earlier run");
        }
    }

    std::vector<vm_tree_state> initial(catalog_.size());
    for (std::size_t vm = 0; vm < catalog_.size(); ++vm) {
        initial[vm].phase = vms_[vm].phase;
        initial[vm].domid = vms_[vm].domid;
        initial[vm].error = vms_[vm].error;
    }
    auto r = co_await tree_.publish(initial);
    if (!r.ok()) {
        throw std::runtime_error(
            fmt::format("writing {} to Xenstore failed: {}", state_tree_root, r.error().message()));
    }
    started_ = true;
    idle_->start();
    spdlog::info("booter: {} VM(s), {} adopted, state tree at {}", catalog_.size(), stats_.adopted,
                 state_tree_root);
}

void booter::begin_stop(std::size_t vm, stop_mode mode, const char* why) {
    vm_runtime& rt = vms_[vm];
    rt.wake_after_stop = false;
    rt.step_started = steady_clock::now();
    spdlog::info("{}: stopping ({}, {})", catalog_[vm].name, stop_mode_name(mode), why);
    // Our own stop: the VM's progress EOF is expected now, not news.
    stop_watching(vm);
    free_boot_slot(vm);
    enter(vm, vm_phase::stopping);
    asio::co_spawn(loop_, stop(vm, mode, rt.epoch), asio::detached);
}

asio::awaitable<void> booter::stop(std::size_t vm, stop_mode mode, std::uint64_t epoch) {
    flow_guard guard(flows_);
    const vm_spec& spec = catalog_[vm];
    vm_runtime& rt = vms_[vm];
    auto out = co_await worker_.run([&spec, mode](backend& b) { b.stop(spec, mode); });
    if (rt.epoch != epoch) co_return;
    if (out.ok()) {
        ++stats_.stops;
        if (!rt.keep_error) rt.error.reset();
        rt.keep_error = false;
        if (mode == stop_mode::suspend) {
            enter(vm, vm_phase::suspended);
        } else {
            became_stopped(vm);
        }
        spdlog::info("{}: {} in {:.2f} ms", spec.name,
                     mode == stop_mode::suspend ? "suspended" : "stopped",
                     ms_since(rt.step_started));
    } else {
        ++stats_.stop_failures;
        spdlog::error("{}: {} failed after {:.2f} ms: {}", spec.name, stop_mode_name(mode),
                      ms_since(rt.step_started), out.error);
        rt.error = std::move(out.error);
        // Still running as far as we know: try again after another idle period.
        rt.active_since = steady_clock::now();
        enter(vm, vm_phase::running);
    }
    if (rt.wake_after_stop && !shutting_down_) {
        // Queries arrived while it was stopping: they wait for it to come back.
        rt.wake_after_stop = false;
        rt.step_started = steady_clock::now();
        if (rt.phase == vm_phase::running) {
            release(vm, true);
        } else if (rt.phase == vm_phase::suspended) {
            begin_resume(vm);
        } else if (request_boot(vm) == verdict::servfail) {
            release(vm, false);
        }
    } else if (rt.phase != vm_phase::running) {
        release(vm, false);  // only at shutdown can waiters be left here
    }
}

void booter::check_idle(steady_time now) {
    if (shutting_down_) return;
    expire_queue(now);
    confirm_quiet_boots(now);
    for (std::size_t vm = 0; vm < vms_.size(); ++vm) {
        const auto deadline = idle_deadline(catalog_[vm], vms_[vm]);
        if (deadline && now >= *deadline) {
            const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(
                now - std::max(vms_[vm].last_query, vms_[vm].active_since));
            begin_stop(vm, catalog_[vm].stop,
                       fmt::format("no query for {} s, 2xTTL is {} s", format_seconds(idle),
                                   2 * catalog_[vm].ttl)
                           .c_str());
        }
    }
}

void booter::flush_last_requests(steady_time now) {
    const auto wall_now = std::chrono::system_clock::now();
    for (std::size_t vm = 0; vm < vms_.size(); ++vm) {
        vm_runtime& rt = vms_[vm];
        if (!rt.last_request_dirty) continue;
        rt.last_request_dirty = false;
        tree_.set_last_request(
            vm, wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                               now - rt.last_query));
    }
}

std::chrono::milliseconds booter::poll_interval() const {
    for (const auto& rt : vms_) {
        if (!rt.confirmed && !rt.has_progress && rt.start_returned) return options_.boot_poll;
    }
    return options_.status_poll;
}

asio::awaitable<void> booter::poll_status() {
    if (worker_.pending() > 0 || shutting_down_) co_return;  // busy: next round
    std::vector<std::size_t> which;
    std::vector<std::uint64_t> epochs;
    for (std::size_t vm = 0; vm < vms_.size(); ++vm) {
        const vm_runtime& rt = vms_[vm];
        // A VM with a progress reader tells us itself when it ends (EOF).
        if (progress_[vm]) continue;
        const bool booted = rt.phase == vm_phase::booting && rt.start_returned;
        if (booted || rt.phase == vm_phase::running || rt.phase == vm_phase::suspended) {
            which.push_back(vm);
            epochs.push_back(rt.epoch);
        }
    }
    if (which.empty()) co_return;
    flow_guard guard(flows_);
    auto status = co_await backend_status(worker_, catalog_, which);
    for (std::size_t k = 0; k < which.size(); ++k) {
        const std::size_t vm = which[k];
        vm_runtime& rt = vms_[vm];
        if (rt.epoch != epochs[k] || !status[k].ok()) continue;
        if (status[k].value->power != vm_power::stopped) continue;
        if (!rt.confirmed) {
            ++stats_.boots_ended_early;
            const std::string& why = status[k].value->failure;
            boot_failed(vm, why.empty() ? "stopped during boot (the backend reports it gone)"
                                        : "stopped during boot: " + why);
            continue;
        }
        ++stats_.deaths;
        spdlog::warn("{}: stopped on its own (backend reports it gone{}{})", catalog_[vm].name,
                     status[k].value->failure.empty() ? "" : ": ", status[k].value->failure);
        became_stopped(vm);
    }
}

asio::awaitable<void> booter::shutdown(bool stop_vms) {
    if (shutting_down_) co_return;
    shutting_down_ = true;
    idle_->stop();
    // Held answers: SERVFAIL (the server is closing its sockets anyway).
    boot_queue_.clear();
    for (std::size_t vm = 0; vm < vms_.size(); ++vm) {
        delay_timer_[vm]->cancel();
        stop_watching(vm);
        if (mode_wait_[vm]) {
            mode_wait_[vm]->cancel();
            mode_wait_[vm].reset();
        }
        if (vms_[vm].phase == vm_phase::queued) enter(vm, vm_phase::stopped);
        // A VM whose mode was still waiting has been started: it runs.
        if (vms_[vm].phase == vm_phase::booting && vms_[vm].domid) {
            vms_[vm].active_since = steady_clock::now();
            enter(vm, vm_phase::running);
        }
        release(vm, false);
    }
    // Backend calls under way finish (a VM being booted ends up running or failed).
    const auto deadline = steady_clock::now() + std::chrono::seconds(60);
    while (flows_ > 0 && steady_clock::now() < deadline)
        co_await pause(std::chrono::milliseconds(5));
    if (flows_ > 0) spdlog::warn("booter: {} backend call(s) still under way at exit", flows_);
    if (stop_vms) {
        for (std::size_t vm = 0; vm < vms_.size(); ++vm) {
            const vm_phase p = vms_[vm].phase;
            if (p != vm_phase::running && p != vm_phase::suspended && p != vm_phase::booting) {
                continue;
            }
            const stop_mode mode =
                catalog_[vm].stop == stop_mode::suspend ? stop_mode::destroy : catalog_[vm].stop;
            vms_[vm].step_started = steady_clock::now();
            spdlog::info("{}: stopping ({}, --stop-on-exit)", catalog_[vm].name,
                         stop_mode_name(mode));
            enter(vm, vm_phase::stopping);
            co_await stop(vm, mode, vms_[vm].epoch);
        }
    }
    flush_last_requests(steady_clock::now());
    co_await tree_.drain(std::chrono::seconds(3));
    tree_.close();
    // Removals of /synjitsu/booting entries started above.
    const auto withdraw_deadline = steady_clock::now() + std::chrono::seconds(3);
    while (flows_ > 0 && steady_clock::now() < withdraw_deadline) {
        co_await pause(std::chrono::milliseconds(5));
    }
    for (auto& w : managed_watch_) {
        if (w) w->cancel();
        w.reset();
    }
    worker_.join();
    const booter_stats& st = stats_;
    spdlog::info(
        "booter: shut down ({} boots, {} stops, {} failures of which {} ended during boot and "
        "{} readiness timeouts, {} deaths, {} SERVFAIL in back-off; limits: {} queued, {} "
        "refused by --max-booting {}, {} refused by --max-running {}, at most {} booting at "
        "once)",
        st.boots, st.stops, st.boot_failures, st.boots_ended_early, st.boot_timeouts, st.deaths,
        st.backoff_refusals, st.boots_queued, st.boots_refused_booting, options_.max_booting,
        st.boots_refused_running, options_.max_running, st.max_booting_seen);
}

}  // namespace jitsu::dns
