// Rate-limited logging of a recurring condition (a full disk, a flood of slow readers,
// accept failures): at most one line per interval, each saying how many occurrences it
// stands for, so that a client or a broken disk can never flood the log.
#pragma once

#include <chrono>
#include <cstdint>

namespace jitsu::xenstored {

class log_limiter {
  public:
    using clock = std::chrono::steady_clock;

    explicit log_limiter(clock::duration interval) : interval_(interval) {}

    // Counts one occurrence. True if a line is due now; `occurrences` is then how many it
    // stands for (this one and those not logged since the last line).
    bool due(std::uint64_t& occurrences, clock::time_point now = clock::now()) {
        ++pending_;
        if (now < next_) return false;
        occurrences = pending_;
        pending_ = 0;
        next_ = now + interval_;
        return true;
    }

  private:
    clock::duration interval_;
    clock::time_point next_{};
    std::uint64_t pending_ = 0;
};

}  // namespace jitsu::xenstored
