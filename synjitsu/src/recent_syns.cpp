#include "synjitsu/recent_syns.h"

#include <algorithm>

namespace jitsu::synjitsu {

recent_syns::recent_syns(std::size_t capacity) : slots_(std::max<std::size_t>(capacity, 1)) {
    for (slot& s : slots_) s.bytes.resize(max_frame);
}

bool recent_syns::remember(const ip_address& dst, std::span<const std::uint8_t> frame,
                           std::uint64_t time_ns) {
    if (frame.empty() || frame.size() > max_frame) return false;
    slot& s = slots_[next_];
    next_ = (next_ + 1) % slots_.size();
    s.dst = dst;
    s.time_ns = time_ns;
    s.length = frame.size();
    std::copy(frame.begin(), frame.end(), s.bytes.begin());
    return true;
}

}  // namespace jitsu::synjitsu
