#include "synjitsu/booting_table.h"

namespace jitsu::synjitsu {

const char* to_string(vm_state state) {
    switch (state) {
        case vm_state::booting:
            return "booting";
        case vm_state::managed:
            return "managed";
        case vm_state::up:
            return "up";
    }
    return "?";
}

booting_table::booting_table(std::size_t capacity) : capacity_(capacity) {
    entries_.reserve(capacity_);
}

std::size_t booting_table::upsert(const ip_address& ip, const mac_address& mac, vm_source source,
                                  std::uint64_t now_ns) {
    const std::size_t i = find(ip);
    if (i != npos) {
        vm_entry& e = entries_[i];
        if (e.mac != mac || e.state != vm_state::booting) {
            e.mac = mac;
            e.state = vm_state::booting;
            e.since_ns = now_ns;
            e.announcements = 0;
            e.announced = false;
        }
        e.source = source;
        return i;
    }
    if (entries_.size() >= capacity_) return npos;
    vm_entry e;
    e.ip = ip;
    e.mac = mac;
    e.source = source;
    e.since_ns = now_ns;
    entries_.push_back(e);
    return entries_.size() - 1;
}

bool booting_table::erase(const ip_address& ip) {
    const std::size_t i = find(ip);
    if (i == npos) return false;
    if (i + 1 != entries_.size()) entries_[i] = entries_.back();
    entries_.pop_back();
    return true;
}

std::size_t booting_table::find(const ip_address& ip) const {
    // Compare the IPv4 case without going through the variant for every entry.
    if (const auto* v4 = ip.if_v4()) {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            const auto* e4 = entries_[i].ip.if_v4();
            if (e4 != nullptr && *e4 == *v4) return i;
        }
        return npos;
    }
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].ip == ip) return i;
    }
    return npos;
}

vm_entry* booting_table::lookup(const ip_address& ip) {
    const std::size_t i = find(ip);
    return i == npos ? nullptr : &entries_[i];
}

const vm_entry* booting_table::lookup(const ip_address& ip) const {
    const std::size_t i = find(ip);
    return i == npos ? nullptr : &entries_[i];
}

bool booting_table::set_state(const ip_address& ip, vm_state state) {
    vm_entry* e = lookup(ip);
    if (e == nullptr) return false;
    e->state = state;
    return true;
}

std::size_t booting_table::active_count() const {
    std::size_t n = 0;
    for (const auto& e : entries_) n += e.active() ? 1 : 0;
    return n;
}

}  // namespace jitsu::synjitsu
