#include "synjitsu/announcer.h"

namespace jitsu::synjitsu {

std::optional<std::uint64_t> announcement_due(const vm_entry& vm) {
    if (!vm.active() || vm.announcements >= announce_schedule_ms.size()) return std::nullopt;
    return vm.since_ns + announce_schedule_ms[vm.announcements] * 1'000'000ULL;
}

std::optional<std::uint64_t> next_announcement(const booting_table& table) {
    std::optional<std::uint64_t> best;
    for (const auto& vm : table) {
        const auto due = announcement_due(vm);
        if (due && (!best || *due < *best)) best = due;
    }
    return best;
}

}  // namespace jitsu::synjitsu
