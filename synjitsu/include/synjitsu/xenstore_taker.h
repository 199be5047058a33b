#pragma once
// xenstore_taker: host replay's take (host_replay.h's queue_taker) through syn-take's
// take_queued_syns, the same take-over a VM's own stack runs (syn_take/take.h): one
// transaction walks, reads and removes /ip/<ip>'s records and writes /ip/<ip> = managed,
// conflicting with synjitsu's own per-SYN transactions exactly as a guest's take does.

#include <functional>

#include "synjitsu/host_replay.h"
#include "xenstore/client.h"

namespace jitsu::synjitsu {

class xenstore_taker final : public queue_taker {
  public:
    using result_fn = std::function<void(std::uint64_t ticket, take_outcome&&)>;

    xenstore_taker(xenstore::client& client, result_fn on_result)
        : client_(client), on_result_(std::move(on_result)) {}

    void take(std::uint64_t ticket, const ip_address& ip) override;

  private:
    xenstore::asio::awaitable<void> run(std::uint64_t ticket, ip_address ip);

    xenstore::client& client_;
    result_fn on_result_;
};

}  // namespace jitsu::synjitsu
