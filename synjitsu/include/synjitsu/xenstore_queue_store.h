#pragma once
// xenstore_queue_store: the queue in Xenstore through the async client, one
// transaction per change, retried on EAGAIN (bounded), keeping the take-over protocol:
// the transaction reads /ip/<ip> first and writes nothing if it is "managed".

#include <cstdint>

#include "synjitsu/queue_store.h"
#include "xenstore/client.h"

namespace jitsu::synjitsu {

class xenstore_queue_store final : public queue_store {
  public:
    // Transaction attempts before giving up (EAGAIN under contention).
    static constexpr int max_attempts = 16;

    explicit xenstore_queue_store(xenstore::client& client) : client_(client) {}

    void add(const queued_syn& syn, std::uint32_t delta, done_fn done) override;
    void remove(const four_tuple& tuple, done_fn done) override;

  private:
    xenstore::asio::awaitable<void> do_add(queued_syn syn, std::uint32_t delta, done_fn done);
    xenstore::asio::awaitable<void> do_remove(four_tuple tuple, done_fn done);

    xenstore::client& client_;
};

}  // namespace jitsu::synjitsu
