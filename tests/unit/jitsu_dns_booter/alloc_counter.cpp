// Counts heap allocations of this test binary, so a test can assert a path allocates
// nothing (the booter's hot path for running VMs).
#include "alloc_counter.h"

#include <cstdlib>
#include <new>

namespace jitsu::dns::test {
std::atomic<std::uint64_t> allocations{0};
}  // namespace jitsu::dns::test

void* operator new(std::size_t n) {
    jitsu::dns::test::allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
