#pragma once
// The announcement schedule: each VM that becomes booting is announced (gratuitous ARP
// for IPv4, unsolicited Neighbour Advertisement for IPv6) at these offsets from its
// registration, doubling gaps: 0, 50, 150, 350, 750 ms. Five frames in under a second
// refresh every neighbour cache quickly and survive a lost frame, and the schedule ends
// long before a typical VM finishes booting.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "synjitsu/booting_table.h"

namespace jitsu::synjitsu {

inline constexpr std::array<std::uint64_t, 5> announce_schedule_ms = {0, 50, 150, 350, 750};

// When the next announcement of `vm` is due (unix ns), or nullopt if it is not booting
// or its schedule is done.
std::optional<std::uint64_t> announcement_due(const vm_entry& vm);

// The earliest due time over the table, for arming a timer.
std::optional<std::uint64_t> next_announcement(const booting_table& table);

// Calls send(index, due_ns) for every announcement due at or before `now_ns`, in order
// of due time (ties: table order), and counts each as sent. Deterministic: offline runs
// use the capture's clock.
template <class Send>
void run_announcements(booting_table& table, std::uint64_t now_ns, Send&& send) {
    for (;;) {
        std::size_t best = booting_table::npos;
        std::uint64_t best_due = 0;
        for (std::size_t i = 0; i < table.size(); ++i) {
            const auto due = announcement_due(table[i]);
            if (due && *due <= now_ns && (best == booting_table::npos || *due < best_due)) {
                best = i;
                best_due = *due;
            }
        }
        if (best == booting_table::npos) return;
        ++table[best].announcements;
        send(best, best_due);
    }
}

}  // namespace jitsu::synjitsu
