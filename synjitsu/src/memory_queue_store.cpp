#include "synjitsu/memory_queue_store.h"

#include <limits>

#include "common/hex.h"

namespace jitsu::synjitsu {

const char* to_string(store_outcome o) {
    switch (o) {
        case store_outcome::written:
            return "written";
        case store_outcome::updated:
            return "updated";
        case store_outcome::removed:
            return "removed";
        case store_outcome::managed:
            return "managed";
        case store_outcome::failed:
            return "failed";
    }
    return "?";
}

void memory_queue_store::add(const queued_syn& syn, std::uint32_t delta, done_fn done) {
    if (managed_.count(syn.tuple.local_ip) != 0) {
        done(store_outcome::managed);
        return;
    }
    auto it = records_.find(syn.tuple);
    if (it != records_.end()) {
        const std::uint64_t sum = std::uint64_t{it->second.count} + delta;
        it->second.count = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(sum, std::numeric_limits<std::uint32_t>::max()));
        done(store_outcome::updated);
        return;
    }
    queued_syn copy = syn;
    copy.count = delta;
    records_.emplace(syn.tuple, std::move(copy));
    done(store_outcome::written);
}

void memory_queue_store::remove(const four_tuple& tuple, done_fn done) {
    if (managed_.count(tuple.local_ip) != 0) {
        done(store_outcome::managed);
        return;
    }
    records_.erase(tuple);
    done(store_outcome::removed);
}

std::string format_queue_line(const queued_syn& s) {
    std::string line = s.tuple.local_ip.to_string() + ' ' + std::to_string(s.tuple.local_port) +
                       ' ' + s.tuple.remote_ip.to_string() + ' ' +
                       std::to_string(s.tuple.remote_port);
    line += " count=" + std::to_string(s.count);
    line += " sequence=" + std::to_string(s.sequence);
    line += " tx_isn=" + std::to_string(s.tx_isn);
    line += " tx_wnd=" + std::to_string(s.tx_wnd);
    line += " rx_wnd=" + std::to_string(s.rx_wnd);
    line += " rx_wnd_scaleoffer=" + std::to_string(s.rx_wnd_scaleoffer);
    line += " mac=" + s.client_mac.to_string();
    line += " time=" + std::to_string(s.time_ns);
    line += " frame=" + to_hex(s.frame);
    line += " options=" + s.options;
    return line;
}

std::string format_queue_dump(const std::map<four_tuple, queued_syn>& records) {
    std::string out;
    for (const auto& [tuple, syn] : records) {
        out += format_queue_line(syn);
        out += '\n';
    }
    return out;
}

}  // namespace jitsu::synjitsu
