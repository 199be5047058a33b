// Replaces the global allocation functions of this test binary (in their own translation
// unit, so the compiler never pairs an inlined new with a free).
#include "alloc_counter.h"

#include <execinfo.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> count{0};
std::atomic<bool> tracing{false};
}  // namespace

std::size_t jitsu::dns::test::allocations() { return count.load(std::memory_order_relaxed); }
void jitsu::dns::test::trace_allocations(bool on) { tracing = on; }

void* operator new(std::size_t n) {
    count.fetch_add(1, std::memory_order_relaxed);
    if (tracing.exchange(false)) {  // off while printing: backtrace() may allocate once
        void* frames[32];
        int depth = ::backtrace(frames, 32);
        ::backtrace_symbols_fd(frames, depth, STDERR_FILENO);
        (void)!::write(STDERR_FILENO, "----\n", 5);
        tracing = true;
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
