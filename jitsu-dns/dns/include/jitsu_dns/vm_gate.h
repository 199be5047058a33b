#pragma once
// The one point where the DNS server meets the booter: before answering a query for a
// VM's name, the server asks the gate whether the answer may go out now.
//
// Both calls happen on the server's event loop. A server without a gate (unit tests,
// benchmarks) answers every VM name at once.

#include <cstddef>
#include <functional>

namespace jitsu::dns {

class vm_gate {
  public:
    enum class verdict { answer_now, wait, servfail };

    virtual ~vm_gate() = default;

    // Every query (A, AAAA, ANY) for a name of VM `vm` (name_record::vm). Records the
    // request (last_request, idle timer) and, for a stopped VM, starts it. The path for a
    // running VM must not allocate or block.
    virtual verdict on_query(std::size_t vm) noexcept = 0;

    // Only after verdict::wait: `done(true)` once the answer may be sent (mode satisfied),
    // `done(false)` to answer SERVFAIL (the backend failed). Every waiter is called exactly
    // once, on the event loop, and never from inside wait_ready itself; at shutdown the
    // remaining waiters get `done(false)`.
    virtual void wait_ready(std::size_t vm, std::function<void(bool ok)> done) = 0;
};

}  // namespace jitsu::dns
