#pragma once
// SYNs for IPs synjitsu does not serve (yet), kept for a short while.
//
// jitsu-dns answers as soon as /synjitsu/booting/<ip> is committed, but synjitsu learns
// of it through a Xenstore watch, which can fire after the client's first SYN has crossed
// the bridge (seen: up to 8 ms under load, at 1 ms RTT). When the IP is then registered,
// the SYNs kept here are handled as if they had just arrived, so that first SYN is not
// lost to the client's 1 s retransmission timeout.
//
// Fixed memory, allocated once: `capacity` slots of at most `max_frame` bytes, the oldest
// overwritten first. No allocation per packet.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/ip_address.h"

namespace jitsu::synjitsu {

class recent_syns {
  public:
    static constexpr std::size_t default_capacity = 64;
    static constexpr std::size_t max_frame = 1518;
    // Older SYNs are not taken: by then the client's own retransmission is near, and the
    // registration is no longer the one the client's DNS answer announced.
    static constexpr std::uint64_t max_age_ns = 250'000'000;

    explicit recent_syns(std::size_t capacity = default_capacity);

    // Keeps a copy of `frame` (a SYN to `dst` captured at `time_ns`); frames longer than
    // max_frame are not kept (returns false).
    bool remember(const ip_address& dst, std::span<const std::uint8_t> frame,
                  std::uint64_t time_ns);

    // Calls handle(frame, time_ns) for each kept SYN to `dst` no older than max_age_ns at
    // `now_ns`, oldest first, and forgets every SYN to `dst`. Returns how many it handed on.
    template <class Handler>
    std::size_t take(const ip_address& dst, std::uint64_t now_ns, Handler&& handle) {
        std::size_t taken = 0;
        for (std::size_t n = 0; n < slots_.size(); ++n) {
            slot& s = slots_[(next_ + n) % slots_.size()];  // oldest first
            if (s.length == 0 || s.dst != dst) continue;
            if (s.time_ns + max_age_ns >= now_ns) {
                handle(std::span<const std::uint8_t>(s.bytes.data(), s.length), s.time_ns);
                ++taken;
            }
            s.length = 0;
        }
        return taken;
    }

  private:
    struct slot {
        ip_address dst;
        std::uint64_t time_ns = 0;
        std::size_t length = 0;  // 0: empty
        std::vector<std::uint8_t> bytes;
    };
    std::vector<slot> slots_;
    std::size_t next_ = 0;  // the slot written next (= the oldest)
};

}  // namespace jitsu::synjitsu
