#pragma once
// xenstore_state: which VMs are booting, from Xenstore. Watches /synjitsu/booting
// (<ip> = "<mac>[ replay=host[ ports=P+P]]", common/booting_value.h, written by
// jitsu-dns) and /ip (<ip> = managed, written by the guest or synjitsu's host replay).
// A watch's initial event (also after a reconnect) triggers a full re-read, so what is
// already there at start-up is served at once and a restart loses nothing.
// Unparsable names or values are logged, counted (bad_xenstore_values) and ignored.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "synjitsu/engine.h"
#include "xenstore/client.h"

namespace jitsu::synjitsu {

inline constexpr std::string_view booting_dir = "/synjitsu/booting";
inline constexpr std::string_view ip_dir = "/ip";

class xenstore_state {
  public:
    using clock_fn = std::function<std::uint64_t()>;

    xenstore_state(xenstore::client& client, engine& eng, clock_fn now);
    xenstore_state(const xenstore_state&) = delete;
    xenstore_state& operator=(const xenstore_state&) = delete;

    // Registers both watches (their initial events read the current state).
    xenstore::asio::awaitable<xenstore::result<void>> start();
    // One full read without watching (offline runs with a Xenstore).
    xenstore::asio::awaitable<void> sync();
    // Reads in progress or requested.
    bool busy() const { return running_ > 0; }

  private:
    void request_booting_scan();
    void request_ip_check(std::string name);
    xenstore::asio::awaitable<void> scan_booting();
    xenstore::asio::awaitable<void> check_ip(const ip_address& ip);
    xenstore::asio::awaitable<void> check_all_ips();

    xenstore::client& client_;
    engine& engine_;
    clock_fn now_;
    bool scanning_ = false;
    bool rescan_ = false;
    int running_ = 0;
};

}  // namespace jitsu::synjitsu
