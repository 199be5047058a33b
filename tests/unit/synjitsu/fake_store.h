#pragma once
// A queue_store that records every call and completes only when the test says so, to
// drive the writer through slow, failing or racing stores.

#include <deque>
#include <utility>

#include "synjitsu/queue_store.h"

namespace jitsu::synjitsu::test {

class fake_store final : public queue_store {
  public:
    struct call {
        bool remove = false;
        queued_syn syn;
        four_tuple tuple;
        std::uint32_t delta = 0;
        done_fn done;
    };

    void add(const queued_syn& syn, std::uint32_t delta, done_fn done) override {
        calls.push_back({false, syn, syn.tuple, delta, std::move(done)});
    }
    void remove(const four_tuple& tuple, done_fn done) override {
        calls.push_back({true, {}, tuple, 0, std::move(done)});
    }
    // Completes the oldest call with `outcome`.
    void complete(store_outcome outcome) {
        call c = std::move(calls.front());
        calls.pop_front();
        c.done(outcome);
    }
    void complete_all(store_outcome outcome) {
        while (!calls.empty()) complete(outcome);
    }

    std::deque<call> calls;
};

}  // namespace jitsu::synjitsu::test
