#pragma once
// queue_store: where queued SYNs go. The Xenstore implementation is the real one; the
// memory one serves offline runs (--dump-queue) and tests. Both keep the take-over
// protocol of common/syn_queue.h: every change reads /ip/<ip> first and changes nothing
// once it is "managed".

#include <cstdint>
#include <functional>

#include "common/syn_queue.h"

namespace jitsu::synjitsu {

enum class store_outcome : std::uint8_t {
    written,  // a new syn/ node with count = delta
    updated,  // the node existed: count += delta
    removed,  // remove(): the connection node is gone
    managed,  // /ip/<ip> is "managed": nothing changed
    failed,   // could not be done (error logged by the store)
};

const char* to_string(store_outcome o);

class queue_store {
  public:
    using done_fn = std::function<void(store_outcome)>;
    virtual ~queue_store() = default;

    // One transaction: if /ip/<ip> is managed nothing; else if syn_node(syn.tuple)
    // has a count, count += delta; else the whole record with count = delta. `done` may
    // run before add() returns (memory store) or later on the event loop.
    virtual void add(const queued_syn& syn, std::uint32_t delta, done_fn done) = 0;
    // One transaction: unless /ip/<ip> is managed, removes connection_node(tuple).
    virtual void remove(const four_tuple& tuple, done_fn done) = 0;
};

}  // namespace jitsu::synjitsu
