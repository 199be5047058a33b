#pragma once
// Heap allocations made by this test binary so far (see alloc_counter.cpp).
#include <atomic>
#include <cstdint>

namespace jitsu::dns::test {
extern std::atomic<std::uint64_t> allocations;
}  // namespace jitsu::dns::test
