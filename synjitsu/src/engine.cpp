#include "synjitsu/engine.h"

#include <spdlog/spdlog.h>

#include "common/format.h"
#include "common/replay_frame.h"
#include "synjitsu/announcer.h"

namespace jitsu::synjitsu {

engine::engine(frame_sink& sink, queue_store& store, metrics& m, writer_limits limits,
               isn_key key, std::size_t table_capacity)
    : sink_(sink),
      metrics_(m),
      table_(table_capacity),
      writer_(table_, store, m, limits, key) {
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
            writer_.on_syn(*c.frame, bytes, time_ns);
            break;
        case verdict::vm_announce:
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

bool engine::add_vm(const ip_address& ip, const mac_address& mac, vm_source source,
                    std::uint64_t now_ns) {
    if (const vm_entry* known = table_.lookup(ip); known != nullptr && known->mac == mac) {
        return true;
    }
    if (table_.upsert(ip, mac, source, now_ns) == booting_table::npos) {
        ++metrics_.table_full;
        spdlog::warn("booting table full ({} VMs): {} not served", table_.capacity(), ip);
        return false;
    }
    ++metrics_.vms_added;
    spdlog::info("serving {} at {} (booting)", ip, mac);
    update_gauges();
    // SYNs that crossed the bridge before the registration reached us.
    const std::size_t recovered =
        recent_.take(ip, now_ns, [this](std::span<const std::uint8_t> frame, std::uint64_t t) {
            const classification c = classify(frame, table_);
            if (c.kind == verdict::syn) {
                ++metrics_.syns_recovered;
                writer_.on_syn(*c.frame, frame, t);
            }
        });
    if (recovered > 0) spdlog::info("{}: {} SYN(s) seen just before it was registered, queued", ip, recovered);
    if (schedule_changed_) schedule_changed_();
    return true;
}

void engine::remove_vm(const ip_address& ip) {
    if (table_.lookup(ip) == nullptr) return;
    writer_.forget_ip(ip);
    table_.erase(ip);
    ++metrics_.vms_removed;
    spdlog::info("{} no longer booting: forgotten", ip);
    update_gauges();
}

void engine::stop_serving(const ip_address& ip, vm_state state) {
    vm_entry* vm = table_.lookup(ip);
    if (vm == nullptr || !vm->active()) return;
    vm->state = state;
    writer_.forget_ip(ip);
    update_gauges();
}

void engine::mark_managed(const ip_address& ip) {
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

void engine::update_gauges() { metrics_.booting_vms = table_.active_count(); }

}  // namespace jitsu::synjitsu
