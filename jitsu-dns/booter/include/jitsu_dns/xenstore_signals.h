#pragma once
// The two Xenstore conversations of the masking modes, apart from the booter's state
// machine:
//   - use_synjitsu: announce a booting VM to synjitsu (/synjitsu/booting/<ip> = MAC),
//     learn when its stack has taken over (/ip/<ip> = managed), withdraw the announcement;
//   - wait_for_key: wait for /local/domain/<domid>/<key> to appear, with a timeout.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "xenstore/client.h"

namespace jitsu::dns {

inline constexpr std::string_view managed_value = "managed";

// One transaction: removes /ip/<ip> (it may still say `managed` from the VM's previous
// run, which would make synjitsu ignore this boot) and writes /synjitsu/booting/<ip> = MAC.
boost::asio::awaitable<xenstore::result<void>> announce_booting(xenstore::client& xs,
                                                                const ip_address& ip,
                                                                const mac_address& mac);
// Removes /synjitsu/booting/<ip>.
boost::asio::awaitable<xenstore::result<void>> withdraw_booting(xenstore::client& xs,
                                                                const ip_address& ip);
// Whether /ip/<ip> says `managed` now.
boost::asio::awaitable<bool> is_managed(xenstore::client& xs, const ip_address& ip);

// Something cancellable the booter keeps per VM while a mode waits (a watch, a timer).
class pending_signal {
  public:
    virtual ~pending_signal() = default;
    // Ends the wait now: its watch is removed and its callback never called.
    virtual void cancel() = 0;
};

// Watches /ip/<ip> and calls `on_managed` once, on the client's executor, when it reads
// `managed`; then removes the watch. The returned handle cancels.
std::shared_ptr<pending_signal> watch_managed(xenstore::client& xs, const ip_address& ip,
                                              std::function<void()> on_managed);

// Waits until `path` exists or `timeout` passes, then calls `done(appeared)` once on the
// client's executor (unless cancelled). `path` is absolute.
std::shared_ptr<pending_signal> wait_for_node(xenstore::client& xs, std::string path,
                                              std::chrono::milliseconds timeout,
                                              std::function<void(bool appeared)> done);

}  // namespace jitsu::dns
