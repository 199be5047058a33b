// --max-booting and --max-running: boot slots, the queue of VMs waiting for one, and the
// count of VMs that run (docs in booter.h, booter_options).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "booter_internal.h"
#include "jitsu_dns/booter.h"

namespace jitsu::dns {

using std::chrono::steady_clock;

std::size_t booter::active_count() const {
    return static_cast<std::size_t>(std::count_if(vms_.begin(), vms_.end(), [](const auto& rt) {
        return rt.phase != vm_phase::stopped && rt.phase != vm_phase::suspended;
    }));
}

vm_gate::verdict booter::request_boot(std::size_t vm) {
    const std::size_t limit = options_.max_booting;
    if (limit == 0 || booting_now_ < limit) {
        begin_boot(vm);
        return verdict::wait;
    }
    if (boot_queue_.size() >= 4 * limit) {
        if (stats_.boots_refused_booting++ % 1000 == 0) {
            spdlog::warn(
                "{}: not started: --max-booting {} VMs boot and {} wait for a slot ({} refused "
                "so far)",
                catalog_[vm].name, limit, boot_queue_.size(), stats_.boots_refused_booting);
        }
        return verdict::servfail;
    }
    ++stats_.boots_queued;
    vms_[vm].queued_until = steady_clock::now() + options_.boot_queue_wait;
    vms_[vm].step_started = steady_clock::now();
    boot_queue_.push_back(vm);
    enter(vm, vm_phase::queued);
    spdlog::info("{}: queued for a boot slot ({} booting, --max-booting {}, {} queued)",
                 catalog_[vm].name, booting_now_, limit, boot_queue_.size());
    return verdict::wait;
}

void booter::free_boot_slot(std::size_t vm) {
    vm_runtime& rt = vms_[vm];
    if (!rt.boot_slot) return;
    rt.boot_slot = false;
    --booting_now_;
    start_queued();
}

void booter::start_queued() {
    while (!shutting_down_ && !boot_queue_.empty() &&
           (options_.max_booting == 0 || booting_now_ < options_.max_booting)) {
        const std::size_t vm = boot_queue_.front();
        boot_queue_.pop_front();
        if (vms_[vm].phase != vm_phase::queued) continue;
        spdlog::info("{}: boot slot free after {:.2f} ms in the queue", catalog_[vm].name,
                     ms_since(vms_[vm].step_started));
        begin_boot(vm);
    }
}

void booter::expire_queue(steady_time now) {
    while (!boot_queue_.empty()) {
        const std::size_t vm = boot_queue_.front();
        vm_runtime& rt = vms_[vm];
        if (rt.phase == vm_phase::queued && now < rt.queued_until) break;  // oldest first
        boot_queue_.pop_front();
        if (rt.phase != vm_phase::queued) continue;
        ++stats_.boots_refused_booting;
        spdlog::warn("{}: no boot slot within {} ms (--max-booting {}): SERVFAIL",
                     catalog_[vm].name, options_.boot_queue_wait.count(), options_.max_booting);
        enter(vm, vm_phase::stopped);
        release(vm, false);
    }
}

}  // namespace jitsu::dns
