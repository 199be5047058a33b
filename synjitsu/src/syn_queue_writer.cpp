#include "synjitsu/syn_queue_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "common/format.h"
#include "synjitsu/syn_builder.h"

namespace jitsu::synjitsu {

const char* to_string(syn_result r) {
    switch (r) {
        case syn_result::queued:
            return "queued";
        case syn_result::deduplicated:
            return "deduplicated";
        case syn_result::dropped_ip_limit:
            return "dropped_ip_limit";
        case syn_result::dropped_global_limit:
            return "dropped_global_limit";
        case syn_result::dropped_backlog:
            return "dropped_backlog";
        case syn_result::bad_record:
            return "bad_record";
    }
    return "?";
}

syn_queue_writer::syn_queue_writer(booting_table& table, queue_store& store, metrics& m,
                                   writer_limits limits, isn_key key)
    : table_(table), store_(store), metrics_(m), limits_(limits), key_(key) {
    tuples_.reserve(limits_.global);
}

syn_result syn_queue_writer::on_syn(const packet::parsed_frame& frame,
                                    std::span<const std::uint8_t> bytes, std::uint64_t now_ns) {
    ++metrics_.syns_received;
    const auto tuple = syn_tuple(frame);
    if (!tuple) {
        ++metrics_.parse_failures;
        return syn_result::bad_record;
    }
    // A retransmission: no allocation, the write is folded or scheduled.
    if (auto it = tuples_.find(*tuple); it != tuples_.end()) {
        tuple_state& st = it->second;
        ++metrics_.syns_deduplicated;
        st.last_ns = std::max(st.last_ns, now_ns);
        ++st.unsynced;
        if (!st.waiting && !st.writing) {
            if (queue_.size() >= limits_.pending) {
                // Stays in unsynced: the next write of this tuple carries it.
                ++metrics_.syns_dropped_backlog;
            } else {
                enqueue(*tuple, st);
            }
        }
        pump();
        return syn_result::deduplicated;
    }
    vm_entry* vm = table_.lookup(tuple->local_ip);
    if (vm == nullptr) return syn_result::bad_record;
    if (vm->queued >= limits_.per_ip) {
        // Full: drop-new, unless fair share makes room (one out, one in: the global
        // count stays as it is).
        if (!limits_.fair_share || queue_.size() >= limits_.pending || !evict_for(*tuple)) {
            ++metrics_.syns_dropped_ip_limit;
            return syn_result::dropped_ip_limit;
        }
    } else if (tuples_.size() >= limits_.global) {
        ++metrics_.syns_dropped_global_limit;
        return syn_result::dropped_global_limit;
    }
    if (queue_.size() >= limits_.pending) {
        ++metrics_.syns_dropped_backlog;
        return syn_result::dropped_backlog;
    }
    auto record = build_queued_syn(frame, bytes, now_ns, key_);
    if (!record) {
        ++metrics_.parse_failures;
        return syn_result::bad_record;
    }
    tuple_state st;
    st.record = std::move(*record);
    st.last_ns = now_ns;
    st.unsynced = 1;
    auto [it, inserted] = tuples_.emplace(*tuple, std::move(st));
    track(*tuple);
    ++vm->queued;
    ++metrics_.syns_queued;
    enqueue(*tuple, it->second);
    pump();
    return syn_result::queued;
}

void syn_queue_writer::enqueue(const four_tuple& tuple, tuple_state& st) {
    st.waiting = true;
    queue_.push_back(tuple);
    update_gauges();
}

void syn_queue_writer::pump() {
    if (pumping_) return;  // a synchronous completion re-entered: the loop below goes on
    pumping_ = true;
    while (in_flight_ < limits_.in_flight && !queue_.empty()) {
        const four_tuple tuple = queue_.front();
        queue_.pop_front();
        auto it = tuples_.find(tuple);
        if (it == tuples_.end()) continue;  // forgotten meanwhile
        tuple_state& st = it->second;
        st.waiting = false;
        const vm_entry* vm = table_.lookup(tuple.local_ip);
        if (vm == nullptr || !vm->active()) {
            metrics_.syns_dropped_inactive += st.unsynced;
            st.unsynced = 0;
            continue;
        }
        const std::uint32_t delta = st.unsynced;
        st.unsynced = 0;
        st.writing = true;
        ++in_flight_;
        store_.add(st.record, delta,
                   [this, tuple, delta](store_outcome o) { complete(tuple, delta, o); });
    }
    pumping_ = false;
    update_gauges();
}

void syn_queue_writer::complete(const four_tuple& tuple, std::uint32_t delta,
                                store_outcome outcome) {
    --in_flight_;
    auto it = tuples_.find(tuple);
    tuple_state* st = it == tuples_.end() ? nullptr : &it->second;
    if (st != nullptr) st->writing = false;
    switch (outcome) {
        case store_outcome::written:
            ++metrics_.xenstore_records_written;
            if (st != nullptr) st->written = true;
            break;
        case store_outcome::updated:
            ++metrics_.xenstore_counts_updated;
            if (st != nullptr) st->written = true;
            break;
        case store_outcome::managed:
            metrics_.syns_dropped_managed += delta;
            if (on_managed_) on_managed_(tuple.local_ip);  // forgets the IP's tuples
            st = nullptr;
            break;
        case store_outcome::removed:
        case store_outcome::failed:
            ++metrics_.xenstore_errors;
            // Never stored: forget it, so a retransmission may try again.
            if (st != nullptr && !st->written) {
                release(tuple);
                st = nullptr;
            }
            break;
    }
    if (st != nullptr && st->unsynced > 0 && !st->waiting) {
        if (queue_.size() < limits_.pending) {
            enqueue(tuple, *st);
        } else {
            ++metrics_.syns_dropped_backlog;
        }
    }
    pump();
}

void syn_queue_writer::release(const four_tuple& tuple) {
    if (tuples_.erase(tuple) == 0) return;
    untrack(tuple);
    if (vm_entry* vm = table_.lookup(tuple.local_ip); vm != nullptr && vm->queued > 0) {
        --vm->queued;
    }
    update_gauges();
}

void syn_queue_writer::prune(std::uint64_t now_ns) {
    if (limits_.max_age_ns == 0) return;
    std::vector<four_tuple> old;
    for (const auto& [tuple, st] : tuples_) {
        if (!st.writing && now_ns > st.last_ns && now_ns - st.last_ns > limits_.max_age_ns) {
            old.push_back(tuple);
        }
    }
    // Deterministic order (offline output must not depend on hash order).
    std::sort(old.begin(), old.end());
    for (const auto& tuple : old) {
        const bool written = tuples_.at(tuple).written;
        release(tuple);
        ++metrics_.syns_pruned;
        if (written) remove_record(tuple);
    }
}

void syn_queue_writer::remove_record(const four_tuple& tuple) {
    store_.remove(tuple, [this, tuple](store_outcome o) {
        if (o == store_outcome::removed) {
            ++metrics_.xenstore_records_removed;
        } else if (o == store_outcome::failed) {
            ++metrics_.xenstore_errors;
            spdlog::warn("could not remove the record of {}", tuple);
        }
    });
}

syn_queue_writer::adopt_result syn_queue_writer::adopt(const ip_address& ip,
                                                       std::vector<queued_syn> records,
                                                       std::uint64_t now_ns) {
    adopt_result r;
    vm_entry* vm = table_.lookup(ip);
    if (vm == nullptr || !vm->active()) return r;
    // Oldest first: under a limit the first SYNs keep their place, as they would have.
    std::sort(records.begin(), records.end(), [](const queued_syn& a, const queued_syn& b) {
        return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.tuple < b.tuple;
    });
    for (auto& record : records) {
        if (record.tuple.local_ip != ip) continue;
        const four_tuple tuple = record.tuple;
        if (tuples_.count(tuple) != 0) {
            ++r.known;
            r.ports.push_back(tuple.local_port);
            continue;
        }
        // A time ahead of our clock (clock stepped back) ages from now.
        const std::uint64_t last = std::min(record.time_ns, now_ns);
        if (limits_.max_age_ns != 0 && now_ns - last > limits_.max_age_ns) {
            ++r.pruned;
            ++metrics_.syns_pruned;
            remove_record(tuple);
            continue;
        }
        if (vm->queued >= limits_.per_ip || tuples_.size() >= limits_.global) {
            ++r.over_limit;
            ++metrics_.records_removed_over_limit;
            remove_record(tuple);
            continue;
        }
        tuple_state st;
        st.record = std::move(record);
        st.last_ns = last;
        st.written = true;
        tuples_.emplace(tuple, std::move(st));
        track(tuple);
        ++vm->queued;
        ++r.adopted;
        ++metrics_.records_adopted;
        r.ports.push_back(tuple.local_port);
    }
    update_gauges();
    return r;
}

void syn_queue_writer::note_taken(const four_tuple& tuple) {
    if (auto it = tuples_.find(tuple); it != tuples_.end()) it->second.written = true;
}

void syn_queue_writer::forget_ip(const ip_address& ip, bool hand_over) {
    // A transaction still running for one of these tuples completes as managed or as
    // a write the VM will take; it finds its tuple gone and forgets it. A tuple not yet
    // in the store is handed over when the VM has taken over (if its write still lands,
    // the VM sees the SYN twice, which TCP absorbs; a lost SYN costs the client 1 s).
    const vm_entry* vm = table_.lookup(ip);
    const bool taken_over =
        hand_over && vm != nullptr && (vm->state == vm_state::managed || vm->state == vm_state::up);
    for (auto it = tuples_.begin(); it != tuples_.end();) {
        if (it->first.local_ip == ip) {
            // Counted as before (not stored); the hand-over is counted by the engine.
            metrics_.syns_dropped_inactive += it->second.unsynced;
            if (taken_over && !it->second.written && on_hand_over_) {
                on_hand_over_(it->second.record);
            }
            it = tuples_.erase(it);
        } else {
            ++it;
        }
    }
    by_vm_.erase(ip);
    if (vm_entry* vm = table_.lookup(ip)) vm->queued = 0;
    update_gauges();
}

namespace {

// The unit of fair share: a client's address, or its /64 for IPv6 (one host's SLAAC and
// privacy addresses share it).
ip_address source_of(const four_tuple& tuple) {
    if (const auto* v6 = tuple.remote_ip.if_v6()) {
        auto bytes = v6->bytes();
        std::fill(bytes.begin() + 8, bytes.end(), std::uint8_t{0});
        return ipv6_address(bytes);
    }
    return tuple.remote_ip;
}

}  // namespace

void syn_queue_writer::track(const four_tuple& tuple) {
    vm_tuples& vm = by_vm_[tuple.local_ip];
    if (vm.tuples.capacity() == 0) {
        // Once per VM; a huge --queue-limit grows them as needed instead.
        const std::size_t n = std::min<std::size_t>(limits_.per_ip, 1024);
        vm.tuples.reserve(n);
        vm.sources.reserve(n);
    }
    vm.tuples.push_back(tuple);
    const ip_address source = source_of(tuple);
    for (auto& s : vm.sources) {
        if (s.source == source) {
            ++s.count;
            return;
        }
    }
    vm.sources.push_back({source, 1});
}

void syn_queue_writer::untrack(const four_tuple& tuple) {
    const auto it = by_vm_.find(tuple.local_ip);
    if (it == by_vm_.end()) return;
    vm_tuples& vm = it->second;
    const auto t = std::find(vm.tuples.begin(), vm.tuples.end(), tuple);
    if (t == vm.tuples.end()) return;
    vm.tuples.erase(t);
    const ip_address source = source_of(tuple);
    for (auto s = vm.sources.begin(); s != vm.sources.end(); ++s) {
        if (s->source != source) continue;
        if (--s->count == 0) vm.sources.erase(s);
        break;
    }
}

bool syn_queue_writer::evict_for(const four_tuple& tuple) {
    const auto it = by_vm_.find(tuple.local_ip);
    if (it == by_vm_.end()) return false;
    vm_tuples& vm = it->second;
    const ip_address source = source_of(tuple);
    std::uint32_t mine = 0;
    const source_count* most = nullptr;
    for (const auto& s : vm.sources) {
        if (s.source == source) mine = s.count;
        if (most == nullptr || s.count > most->count) most = &s;
    }
    // Two fewer at least: after the swap the newcomer still holds no more than the
    // evicted source, so two sources never evict each other back and forth.
    if (most == nullptr || mine + 2 > most->count) return false;
    const ip_address heavy = most->source;
    // Its newest 4-tuple whose write is not running (a running write would land after
    // the eviction and leave an uncounted record).
    for (auto t = vm.tuples.rbegin(); t != vm.tuples.rend(); ++t) {
        if (source_of(*t) != heavy) continue;
        const auto st = tuples_.find(*t);
        if (st == tuples_.end() || st->second.writing) continue;
        const four_tuple victim = *t;
        const bool written = st->second.written;
        release(victim);
        ++metrics_.syns_evicted;
        if (written) remove_record(victim);
        return true;
    }
    return false;
}

void syn_queue_writer::update_gauges() {
    metrics_.queued_tuples = tuples_.size();
    metrics_.pending_writes = queue_.size() + in_flight_;
}

}  // namespace jitsu::synjitsu
