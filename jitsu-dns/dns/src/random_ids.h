#pragma once
// Internal: unpredictable 16-bit query ids for forwarded queries (RFC 5452 §9.2), read
// from the kernel CSPRNG in blocks so a forward costs no system call.

#include <sys/random.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>

namespace jitsu::dns::detail {

class random_ids {
  public:
    std::uint16_t next() {
        if (pos_ + 2 > pool_.size()) refill();
        std::uint16_t v = static_cast<std::uint16_t>((pool_[pos_] << 8) | pool_[pos_ + 1]);
        pos_ += 2;
        return v;
    }

  private:
    void refill() {
        std::size_t got = 0;
        while (got < pool_.size()) {
            ssize_t n = ::getrandom(pool_.data() + got, pool_.size() - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        if (got < pool_.size()) {  // getrandom unavailable: std::random_device (also the kernel's)
            std::random_device rd;
            for (std::size_t i = got; i < pool_.size(); ++i)
                pool_[i] = static_cast<std::uint8_t>(rd());
        }
        pos_ = 0;
    }

    std::array<std::uint8_t, 512> pool_{};
    std::size_t pos_ = pool_.size();
};

}  // namespace jitsu::dns::detail
