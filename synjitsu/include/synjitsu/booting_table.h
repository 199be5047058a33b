#pragma once
// booting_table: the VMs synjitsu stands in for, IP -> MAC and state, plus the per-IP
// queue accounting the SYN-queue writer keeps. A flat array with a fixed capacity,
// searched linearly: a host boots a handful of VMs at a time, and lookup on the hot path
// neither allocates nor chases pointers.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/booting_value.h"
#include "common/ip_address.h"
#include "common/mac_address.h"

namespace jitsu::synjitsu {

// What synjitsu currently does for a VM.
enum class vm_state : std::uint8_t {
    booting,  // announce, answer ARP/NS, queue SYNs
    managed,  // /ip/<ip> = managed: the VM's stack took over; do nothing
    up,       // the VM's own gratuitous ARP / NA was seen; do nothing
};

const char* to_string(vm_state state);

// Where an entry came from: a command-line --booting entry stays until exit; a
// Xenstore entry goes away with its /synjitsu/booting/<ip> node.
enum class vm_source : std::uint8_t { command_line, xenstore };

struct vm_entry {
    ip_address ip{};
    mac_address mac{};
    vm_state state = vm_state::booting;
    vm_source source = vm_source::command_line;
    // Distinct 4-tuples queued for this IP (held by the SYN-queue writer).
    std::uint32_t queued = 0;
    // Time the entry was (re-)registered, unix ns: the announcement schedule's origin.
    std::uint64_t since_ns = 0;
    // Announcements already sent.
    std::uint8_t announcements = 0;
    // Who replays the queue: the VM's stack, or synjitsu (host_replay.h).
    replay_mode replay = replay_mode::guest;
    // The VM's own ARP/NA was seen (host replay keeps serving it; logged once).
    bool announced = false;

    bool active() const { return state == vm_state::booting; }
};

class booting_table {
  public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    // The default capacity: VMs booting at once on one host.
    static constexpr std::size_t default_capacity = 1024;

    explicit booting_table(std::size_t capacity = default_capacity);

    // Adds `ip` as booting with `mac` (registration time `now_ns`), or, if present,
    // updates its MAC and source and makes it booting again with a fresh announcement
    // schedule when the MAC changed or it was not booting. Returns the index, or npos
    // when the table is full.
    std::size_t upsert(const ip_address& ip, const mac_address& mac, vm_source source,
                       std::uint64_t now_ns);
    // Removes the entry; returns whether it existed. Indices of other entries may
    // change (the last entry moves into the hole).
    bool erase(const ip_address& ip);

    // Index of `ip` or npos. No allocation.
    std::size_t find(const ip_address& ip) const;
    vm_entry* lookup(const ip_address& ip);
    const vm_entry* lookup(const ip_address& ip) const;

    // Sets the state; returns false if `ip` is unknown.
    bool set_state(const ip_address& ip, vm_state state);

    std::size_t size() const { return entries_.size(); }
    std::size_t capacity() const { return capacity_; }
    std::size_t active_count() const;
    vm_entry& operator[](std::size_t i) { return entries_[i]; }
    const vm_entry& operator[](std::size_t i) const { return entries_[i]; }
    auto begin() { return entries_.begin(); }
    auto end() { return entries_.end(); }
    auto begin() const { return entries_.begin(); }
    auto end() const { return entries_.end(); }

    // The 4-tuples of synjitsu's own probe connections (host replay), seen from the VM
    // (local = the VM's address and port): their SYNs are never queued. Kept by
    // host_replay, bounded by it; the lookup neither allocates nor runs when empty.
    // Counted: a port the kernel hands out again while the previous probe on it is still
    // remembered stays excluded until both are forgotten.
    void exclude(const four_tuple& tuple) { ++excluded_[tuple]; }
    void unexclude(const four_tuple& tuple) {
        const auto it = excluded_.find(tuple);
        if (it != excluded_.end() && --it->second == 0) excluded_.erase(it);
    }
    bool excluded(const four_tuple& tuple) const {
        return !excluded_.empty() && excluded_.count(tuple) != 0;
    }
    std::size_t exclusions() const { return excluded_.size(); }

  private:
    std::size_t capacity_;
    std::vector<vm_entry> entries_;
    std::unordered_map<four_tuple, std::uint32_t> excluded_;
};

}  // namespace jitsu::synjitsu
