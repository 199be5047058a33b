#include "synjitsu/engine.h"

#include <spdlog/spdlog.h>

#include "common/format.h"
#include "common/replay_frame.h"
#include "synjitsu/announcer.h"

namespace jitsu::synjitsu {

engine::engine(frame_sink& sink, queue_store& store, metrics& m, writer_limits limits, isn_key key,
               std::size_t table_capacity)
    : sink_(sink), metrics_(m), table_(table_capacity), writer_(table_, store, m, limits, key) {
    writer_.on_managed([this](const ip_address& ip) { mark_managed(ip); });
    writer_.on_hand_over([this](const queued_syn& syn) { hand_over(syn); });
}

void engine::send(std::span<const std::uint8_t> frame, std::uint64_t time_ns) {
    if (frame.empty() || !sink_.send(frame, time_ns)) ++metrics_.send_errors;
}

verdict engine::on_frame(std::span<const std::uint8_t> bytes, std::uint64_t time_ns) {
    ++metrics_.frames_received;
    const classification c = classify(bytes, table_);
    switch (c.kind) {
        case verdict::arp_request:
            send(responder_.arp_reply(table_[c.vm], *c.frame), time_ns);
            ++metrics_.arp_requests_answered;
            break;
        case verdict::neighbor_solicitation:
            send(responder_.neighbor_advertisement(table_[c.vm], *c.frame), time_ns);
            ++metrics_.neighbor_solicitations_answered;
            break;
        case verdict::syn:
            queue_syn(c.vm, *c.frame, bytes, time_ns);
            break;
        case verdict::vm_announce:
            if (vm_entry& vm = table_[c.vm]; vm.replay == replay_mode::host) {
                // An unmodified guest's kernel is up; its service may not be yet. Serving
                // on costs nothing (same MAC); the host replay decides when it is over.
                if (!vm.announced) {
                    vm.announced = true;
                    ++metrics_.vms_announced_up;
                    spdlog::info(
                        "{} announced itself from {}: its kernel is up, host replay "
                        "goes on until its service accepts",
                        vm.ip, vm.mac);
                }
                break;
            }
            spdlog::info("{} announced itself from {}: no longer served", table_[c.vm].ip,
                         table_[c.vm].mac);
            ++metrics_.vms_announced_up;
            mark_up(table_[c.vm].ip);
            break;
        case verdict::ignore:
            ++metrics_.frames_ignored;
            if (c.why == reason::not_booting) {
                ++metrics_.ignored_not_booting;
                // Maybe a VM whose registration is still on its way: keep the SYN a while.
                if (c.frame && c.frame->tcp && c.frame->tcp->is_syn_only()) {
                    if (const auto dst = c.frame->dst_ip()) recent_.remember(*dst, bytes, time_ns);
                }
            }
            if (c.why == reason::inactive) ++metrics_.ignored_inactive;
            if (c.why == reason::own_probe) ++metrics_.ignored_own_probes;
            if (c.why == reason::vlan_tagged) ++metrics_.ignored_vlan_tagged;
            break;
        case verdict::malformed:
            ++metrics_.parse_failures;
            break;
    }
    return c.kind;
}

void engine::on_tick(std::uint64_t now_ns) {
    run_announcements(table_, now_ns, [this](std::size_t i, std::uint64_t due) {
        send(responder_.announcement(table_[i]), due);
        ++metrics_.announcements_sent;
    });
    writer_.prune(now_ns);
}

void engine::flush_announcements() {
    run_announcements(table_, UINT64_MAX, [this](std::size_t i, std::uint64_t due) {
        send(responder_.announcement(table_[i]), due);
        ++metrics_.announcements_sent;
    });
}

std::optional<std::uint64_t> engine::next_announcement() const {
    return synjitsu::next_announcement(table_);
}

void engine::restart_announcements(std::uint64_t now_ns) {
    for (auto& vm : table_) {
        if (!vm.active()) continue;
        vm.announcements = 0;
        vm.since_ns = now_ns;
    }
    if (schedule_changed_) schedule_changed_();
}

void engine::enable_host_replay(prober& probes, queue_taker& taker, host_replay_limits limits) {
    host_replay_ = std::make_unique<host_replay>(probes, taker, table_, metrics_, limits);
    host_replay_->on_finished(
        [this](host_replay_result&& r) { host_replay_finished(std::move(r)); });
}

bool engine::add_vm(const ip_address& ip, const booting_value& value, vm_source source,
                    std::uint64_t now_ns) {
    replay_mode mode = value.replay;
    if (mode == replay_mode::host && !host_replay_) {
        if (!warned_no_host_replay_) {
            spdlog::warn("{}: replay=host needs a live run: served as replay=guest", ip);
            warned_no_host_replay_ = true;
        }
        mode = replay_mode::guest;
    }
    if (vm_entry* known = table_.lookup(ip); known != nullptr && known->mac == value.mac) {
        if (known->replay == mode) {
            if (mode == replay_mode::host) host_replay_->add_hints(ip, value.ports, now_ns);
            return true;
        }
        known->replay = mode;
        spdlog::info("{} now has replay={}", ip, to_string(mode));
        if (mode == replay_mode::host && known->active()) {
            host_replay_->start(ip, value.mac, value.ports, now_ns);
        } else if (host_replay_) {
            host_replay_->cancel(ip, "replay=guest now");
        }
        return true;
    }
    const std::size_t i = table_.upsert(ip, value.mac, source, now_ns);
    if (i == booting_table::npos) {
        ++metrics_.table_full;
        spdlog::warn("booting table full ({} VMs): {} not served", table_.capacity(), ip);
        return false;
    }
    table_[i].replay = mode;
    ++metrics_.vms_added;
    // Unchanged for replay=guest (scripts grep for it).
    spdlog::info("serving {} at {} (booting){}", ip, value.mac,
                 mode == replay_mode::host ? ", replay=host" : "");
    update_gauges();
    if (mode == replay_mode::host) {
        host_replay_->start(ip, value.mac, value.ports, now_ns);
    } else if (host_replay_) {
        host_replay_->cancel(ip, "MAC changed, replay=guest");
    }
    // SYNs that crossed the bridge before the registration reached us.
    const std::size_t recovered =
        recent_.take(ip, now_ns, [this](std::span<const std::uint8_t> frame, std::uint64_t t) {
            const classification c = classify(frame, table_);
            if (c.kind == verdict::syn) {
                ++metrics_.syns_recovered;
                queue_syn(c.vm, *c.frame, frame, t);
            }
        });
    if (recovered > 0)
        spdlog::info("{}: {} SYN(s) seen just before it was registered, queued", ip, recovered);
    if (schedule_changed_) schedule_changed_();
    return true;
}

void engine::queue_syn(std::size_t vm, const packet::parsed_frame& frame,
                       std::span<const std::uint8_t> bytes, std::uint64_t time_ns) {
    const syn_result r = writer_.on_syn(frame, bytes, time_ns);
    if (table_[vm].replay != replay_mode::host || !host_replay_) return;
    if (r == syn_result::queued || r == syn_result::deduplicated) {
        host_replay_->add_port(table_[vm].ip, frame.tcp->dst_port(), time_ns);
    }
}

void engine::remove_vm(const ip_address& ip) {
    if (table_.lookup(ip) == nullptr) return;
    if (host_replay_) host_replay_->cancel(ip, "booting entry removed");
    writer_.forget_ip(ip);
    table_.erase(ip);
    ++metrics_.vms_removed;
    spdlog::info("{} no longer booting: forgotten", ip);
    update_gauges();
}

void engine::adopt_queued(const ip_address& ip, std::vector<queued_syn> records,
                          std::uint64_t now_ns) {
    const vm_entry* vm = table_.lookup(ip);
    if (vm == nullptr || !vm->active() || records.empty()) return;
    const auto r = writer_.adopt(ip, std::move(records), now_ns);
    spdlog::info(
        "{}: {} SYN record(s) of an earlier run found in Xenstore: {} counted, {} already "
        "held, {} older than --max-age and {} beyond the limits removed",
        ip, r.adopted + r.known + r.pruned + r.over_limit, r.adopted, r.known, r.pruned,
        r.over_limit);
    if (vm->replay == replay_mode::host && host_replay_) {
        for (const std::uint16_t port : r.ports) host_replay_->add_port(ip, port, now_ns);
    }
}

void engine::stop_serving(const ip_address& ip, vm_state state, bool hand_over_unstored) {
    vm_entry* vm = table_.lookup(ip);
    if (vm == nullptr || !vm->active()) return;
    vm->state = state;
    writer_.forget_ip(ip, hand_over_unstored);
    update_gauges();
}

void engine::mark_managed(const ip_address& ip) {
    // Someone else took the queue (the VM's own stack): nothing left to replay. Unless
    // our own take is running: this managed is most likely ours, its outcome decides.
    if (host_replay_ && !host_replay_->taking(ip)) {
        host_replay_->cancel(ip, "/ip managed by another taker");
    }
    const vm_entry* vm = table_.lookup(ip);
    if (vm == nullptr || !vm->active()) return;
    ++metrics_.vms_managed;
    spdlog::info("{} is managed by its VM: no longer served", ip);
    stop_serving(ip, vm_state::managed);
}

void engine::mark_up(const ip_address& ip) { stop_serving(ip, vm_state::up); }

void engine::hand_over(const queued_syn& syn) {
    const vm_entry* vm = table_.lookup(syn.tuple.local_ip);
    if (vm == nullptr) return;
    const auto frame = replay_frame(syn, vm->mac);
    if (!frame) return;
    send(*frame, syn.time_ns);
    ++metrics_.syns_handed_over;
    spdlog::info("{}: VM took over before the SYN from {} was stored: handed to it directly",
                 syn.tuple.local_ip, syn.tuple.to_string());
}

void engine::host_replay_finished(host_replay_result&& r) {
    using kind = host_replay_result::kind;
    if (r.how == kind::abandoned) {
        stop_serving(r.ip, vm_state::up, false);
        return;
    }
    if (r.how == kind::gave_up) {
        // The VM does not listen: SYNs still in flight are dropped, not handed over.
        if (const vm_entry* vm = table_.lookup(r.ip); vm != nullptr && vm->active()) {
            ++metrics_.vms_managed;
        }
        stop_serving(r.ip, vm_state::managed, false);
        return;
    }
    // These records were in the store and are taken: never hand them over again.
    for (const auto& syn : r.syns) writer_.note_taken(syn.tuple);
    std::size_t sent = 0;
    for (const auto& syn : r.syns) {
        const auto frame = replay_frame(syn, r.mac);
        if (!frame) {
            spdlog::warn("{}: taken SYN {} has no TCP frame: not sent", r.ip, syn.tuple);
            continue;
        }
        send(*frame, r.at_ns);
        ++metrics_.host_replay_syns_injected;
        ++sent;
    }
    spdlog::info(
        "{}: host replay: sent {} SYN(s) to {} at unix_ns={}: its kernel answers the "
        "clients",
        r.ip, sent, r.mac, r.at_ns);
    if (const vm_entry* vm = table_.lookup(r.ip); vm != nullptr && vm->active()) {
        ++metrics_.vms_managed;
        spdlog::info("{} is managed (queue replayed by synjitsu): no longer served", r.ip);
    }
    stop_serving(r.ip, vm_state::managed);
}

void engine::update_gauges() { metrics_.booting_vms = table_.active_count(); }

}  // namespace jitsu::synjitsu
