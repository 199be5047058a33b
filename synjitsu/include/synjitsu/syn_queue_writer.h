#pragma once
// syn_queue_writer: decides what happens to each SYN for a booting VM and feeds the
// queue_store, bounded in every dimension.
//
// - Dedup: a 4-tuple already held in memory is a retransmission: its count grows (in
//   Xenstore too: the store's transaction reads count and writes count + delta).
// - Limits: at most `per_ip` distinct 4-tuples per VM (--queue-limit) and `global`
//   over all VMs (--global-limit); beyond them SYNs are counted and dropped.
// - Fair share (limits.fair_share): when a VM's queue is full, a new 4-tuple from a
//   client source (its /32, or /64 for IPv6) holding at least two fewer of the VM's
//   4-tuples than the most-represented source evicts that source's newest 4-tuple (its
//   record removed) instead of being dropped. A flood from few sources thus cannot keep
//   other clients out; one from as many sources as the queue holds (spoofed) still can:
//   with every source holding one 4-tuple, nothing is evicted and drop-new applies.
//   State: the VM's 4-tuples in order and a count per source, both at most --queue-limit
//   long (allocated once per VM, not per SYN).
// - Backpressure: at most `pending` 4-tuples wait for a Xenstore write and `in_flight`
//   transactions run at once; a new 4-tuple arriving with the queue full is dropped and
//   counted (memory never grows with Xenstore's slowness). Retransmissions of a tuple
//   already waiting are folded into its pending write.
// - Age: prune() forgets 4-tuples whose last SYN is older than `max_age_ns` and removes
//   their record from the store (unless the VM took over meanwhile).
// - Restart: adopt() takes in the records already in the store for a VM (left by an
//   earlier run, killed or not): they count against both limits and age like the
//   others, from their `time` (the first SYN's capture time: the record keeps no later
//   one, so an adopted 4-tuple may be pruned up to its retransmissions' span early; a
//   retransmission arriving afterwards queues it again). Records beyond the limits or
//   already older than max_age_ns are removed from the store, oldest kept first.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/packet/frame.h"
#include "common/syn_queue.h"
#include "synjitsu/booting_table.h"
#include "synjitsu/isn.h"
#include "synjitsu/metrics.h"
#include "synjitsu/queue_store.h"

namespace jitsu::synjitsu {

struct writer_limits {
    // Distinct 4-tuples queued per VM (--queue-limit).
    std::uint32_t per_ip = 64;
    // Distinct 4-tuples queued over all VMs (--global-limit).
    std::uint32_t global = 4096;
    // A 4-tuple with no SYN for this long is forgotten and its record removed
    // (--max-age, seconds on the command line). 0 = never.
    std::uint64_t max_age_ns = 60'000'000'000ULL;
    // 4-tuples waiting for their Xenstore write (--pending-limit).
    std::size_t pending = 1024;
    // Concurrent Xenstore transactions. 1: records of one VM share parent nodes, so
    // concurrent transactions conflict with each other (EAGAIN) and, under load,
    // starve; one at a time never conflicts with itself and is still thousands of
    // records per second, far above what the per-VM and global limits let through.
    std::size_t in_flight = 1;
    // See "Fair share" above (--no-fair-share turns it off: plain drop-new).
    bool fair_share = true;
};

enum class syn_result : std::uint8_t {
    queued,                // new 4-tuple, write scheduled
    deduplicated,          // retransmission, count update scheduled (or folded)
    dropped_ip_limit,      // per-VM limit reached
    dropped_global_limit,  // global limit reached
    dropped_backlog,       // write queue full
    bad_record,            // no IP/TCP or malformed options
};

const char* to_string(syn_result r);

class syn_queue_writer {
  public:
    syn_queue_writer(booting_table& table, queue_store& store, metrics& m, writer_limits limits,
                     isn_key key);
    syn_queue_writer(const syn_queue_writer&) = delete;
    syn_queue_writer& operator=(const syn_queue_writer&) = delete;

    // A SYN classified for a booting VM. `bytes` is the frame `frame` was parsed from.
    syn_result on_syn(const packet::parsed_frame& frame, std::span<const std::uint8_t> bytes,
                      std::uint64_t now_ns);
    // Forgets 4-tuples idle for longer than max_age_ns (and removes their records).
    void prune(std::uint64_t now_ns);
    // The records found in the store for the booting VM `ip` (see Restart above). 4-tuples
    // already held are left as they are. Returns what became of them.
    struct adopt_result {
        std::size_t adopted = 0;           // now held and counted
        std::size_t known = 0;             // already held
        std::size_t pruned = 0;            // older than max_age_ns: removed
        std::size_t over_limit = 0;        // beyond --queue-limit / --global-limit: removed
        std::vector<std::uint16_t> ports;  // the VM ports of the adopted and known ones
    };
    adopt_result adopt(const ip_address& ip, std::vector<queued_syn> records, std::uint64_t now_ns);
    // The VM is no longer served (managed, up, removed): forget its 4-tuples and drop
    // its waiting writes. Its records in the store are left for the VM to take.
    // `hand_over` = false: SYNs not in the store are dropped even if the VM took over (a
    // host replay that gave up: the VM does not listen, the client had better retransmit).
    void forget_ip(const ip_address& ip, bool hand_over = true);
    // A take-over returned this 4-tuple's record (host replay): it was in the store, so
    // forget_ip must not hand it over a second time, whatever its write's callback says.
    void note_taken(const four_tuple& tuple);

    // Called when the store reports /ip/<ip> = managed.
    void on_managed(std::function<void(const ip_address&)> handler) {
        on_managed_ = std::move(handler);
    }
    // Called by forget_ip for each SYN not in the store when its VM has taken over
    // (managed or up): the VM took its queue before this SYN was written, so the SYN
    // must be handed to the VM directly or the client waits for a retransmission.
    void on_hand_over(std::function<void(const queued_syn&)> handler) {
        on_hand_over_ = std::move(handler);
    }

    // Nothing waiting or in flight.
    bool idle() const { return queue_.empty() && in_flight_ == 0; }
    std::size_t tuples() const { return tuples_.size(); }
    std::size_t pending() const { return queue_.size() + in_flight_; }
    const writer_limits& limits() const { return limits_; }

  private:
    struct tuple_state {
        queued_syn record;           // the first SYN, for (re)creating the node
        std::uint64_t last_ns = 0;   // last SYN seen
        std::uint32_t unsynced = 0;  // SYNs not yet reflected in the store
        bool waiting = false;        // in queue_
        bool writing = false;        // a transaction for it is running
        bool written = false;        // the store has the node
    };

    void enqueue(const four_tuple& tuple, tuple_state& st);
    void pump();
    void complete(const four_tuple& tuple, std::uint32_t delta, store_outcome outcome);
    void release(const four_tuple& tuple);
    void remove_record(const four_tuple& tuple);
    // Fair share: the per-VM index, kept in step with tuples_.
    void track(const four_tuple& tuple);
    void untrack(const four_tuple& tuple);
    // Evicts the newest 4-tuple of the VM's most-represented source if `tuple`'s source
    // holds at least two fewer; false if nothing was evicted.
    bool evict_for(const four_tuple& tuple);
    void update_gauges();

    booting_table& table_;
    queue_store& store_;
    metrics& metrics_;
    writer_limits limits_;
    isn_key key_;
    std::unordered_map<four_tuple, tuple_state> tuples_;
    struct source_count {
        ip_address source;  // the client's /32 or /64
        std::uint32_t count = 0;
    };
    struct vm_tuples {
        std::vector<four_tuple> tuples;  // oldest first
        std::vector<source_count> sources;
    };
    std::unordered_map<ip_address, vm_tuples> by_vm_;
    std::deque<four_tuple> queue_;
    std::size_t in_flight_ = 0;
    bool pumping_ = false;
    std::function<void(const ip_address&)> on_managed_;
    std::function<void(const queued_syn&)> on_hand_over_;
};

}  // namespace jitsu::synjitsu
