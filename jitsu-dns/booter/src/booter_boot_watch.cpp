// Following a boot the backend has started, until the VM is confirmed up or has failed:
// the backend's progress lines (started / ready / failed: WHY, EOF when the VM ends), the
// readiness timeout, and the quiet confirmation of VMs whose backend reports nothing.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "booter_internal.h"
#include "jitsu_dns/booter.h"
#include "jitsu_dns/progress_reader.h"

namespace jitsu::dns {

namespace asio = boost::asio;
using std::chrono::steady_clock;

void booter::watch_boot(std::size_t vm, int progress_fd) {
    vm_runtime& rt = vms_[vm];
    rt.start_returned = true;
    if (progress_fd < 0 || shutting_down_) {
        if (progress_fd >= 0) ::close(progress_fd);
        rt.launched = true;  // start() returning is all the backend will say
        return;
    }
    rt.has_progress = true;
    const std::uint64_t id = rt.boot_id;
    progress_[vm] = read_progress(
        loop_, progress_fd,
        [this, vm, id](std::optional<std::string> line) { on_progress(vm, id, std::move(line)); });
    const auto limit = catalog_[vm].boot_delay + options_.boot_timeout;
    ready_timer_[vm]->expires_after(limit);
    ready_timer_[vm]->async_wait([this, vm, id](const boost::system::error_code& ec) {
        if (!ec) on_ready_timeout(vm, id);
    });
}

void booter::stop_watching(std::size_t vm) {
    if (progress_[vm]) {
        progress_[vm]->cancel();
        progress_[vm].reset();
    }
    ready_timer_[vm]->cancel();
}

void booter::on_progress(std::size_t vm, std::uint64_t boot_id, std::optional<std::string> line) {
    vm_runtime& rt = vms_[vm];
    if (rt.boot_id != boot_id) return;
    if (!line) {
        // progress_[vm] stays set until on_vm_ended is done: poll_status leaves the VM to
        // it (the backend's ended() says more than a status poll would).
        asio::co_spawn(loop_, on_vm_ended(vm, boot_id), asio::detached);
        return;
    }
    if (*line == "started") {
        launched(vm);
    } else if (*line == "ready") {
        launched(vm);
        confirm(vm, "ready");
    } else if (line->rfind("failed: ", 0) == 0) {
        rt.reported_failure = line->substr(8);
    } else {
        spdlog::debug("{}: unknown progress line \"{}\" ignored", catalog_[vm].name, *line);
    }
}

void booter::launched(std::size_t vm) {
    vm_runtime& rt = vms_[vm];
    if (rt.launched) return;
    rt.launched = true;
    spdlog::info("{}: set up by the backend, {:.2f} ms after the query", catalog_[vm].name,
                 ms_since(rt.step_started));
    if (const char* how = std::exchange(rt.satisfied_early, nullptr)) {
        mode_satisfied(vm, rt.epoch, how);
    }
}

void booter::confirm(std::size_t vm, const char* how) {
    vm_runtime& rt = vms_[vm];
    if (rt.confirmed) return;
    rt.confirmed = true;
    rt.failures = 0;  // the back-off starts again from retry_backoff
    ready_timer_[vm]->cancel();
    free_boot_slot(vm);
    spdlog::info("{}: up ({}), {:.2f} ms after the query", catalog_[vm].name, how,
                 ms_since(rt.step_started));
}

void booter::confirm_quiet_boots(steady_time now) {
    for (auto& rt : vms_) {
        if (!rt.confirmed && !rt.has_progress && rt.phase == vm_phase::running &&
            now >= rt.confirm_by) {
            rt.confirmed = true;
            rt.failures = 0;
        }
    }
}

asio::awaitable<void> booter::on_vm_ended(std::size_t vm, std::uint64_t boot_id) {
    flow_guard guard(flows_);
    const vm_spec& spec = catalog_[vm];
    vm_runtime& rt = vms_[vm];
    // Reaps it and says how it ended (on the worker: it may wait a moment for the exit).
    auto how = co_await worker_.run([&spec](backend& b) { return b.ended(spec); });
    if (rt.boot_id != boot_id || shutting_down_) co_return;
    progress_[vm].reset();
    if (rt.phase != vm_phase::booting && rt.phase != vm_phase::running) co_return;
    std::string why = how.ok() ? *how.value : how.error;
    if (!rt.reported_failure.empty()) {
        why = why.empty() ? rt.reported_failure : why + ": " + rt.reported_failure;
    }
    if (!rt.confirmed) {
        ++stats_.boots_ended_early;
        boot_failed(vm,
                    why.empty() ? std::string("ended during boot") : "ended during boot: " + why);
        co_return;
    }
    ++stats_.deaths;
    spdlog::warn("{}: stopped on its own{}{}", spec.name, why.empty() ? "" : ": ", why);
    became_stopped(vm);
}

void booter::on_ready_timeout(std::size_t vm, std::uint64_t boot_id) {
    vm_runtime& rt = vms_[vm];
    if (rt.boot_id != boot_id || rt.confirmed || shutting_down_) return;
    if (rt.phase != vm_phase::booting && rt.phase != vm_phase::running) return;
    ++stats_.boot_timeouts;
    const auto limit = catalog_[vm].boot_delay + options_.boot_timeout;
    record_failure(vm, fmt::format("not ready within {} ms of its start (boot_delay + {} ms)",
                                   limit.count(), options_.boot_timeout.count()));
    release(vm, false);
    // Stopped like an idle VM, but the error stays in the tree.
    rt.keep_error = true;
    begin_stop(vm, stop_mode::destroy, "boot failed");
}

}  // namespace jitsu::dns
