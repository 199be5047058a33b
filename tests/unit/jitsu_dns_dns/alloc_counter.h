#pragma once
// A counting global operator new for the test binaries that link alloc_counter.cpp: the
// hot-path tests check that answering a query does not allocate.
#include <cstddef>

namespace jitsu::dns::test {
std::size_t allocations();
// While on, every allocation also prints a backtrace to stderr (to find the culprit when
// a hot-path check fails).
void trace_allocations(bool on);
}  // namespace jitsu::dns::test
