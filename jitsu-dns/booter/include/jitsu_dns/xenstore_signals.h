#pragma once
// The two Xenstore conversations of the masking modes, apart from the booter's state
// machine:
//   - use_synjitsu: announce a booting VM to synjitsu (/synjitsu/booting/<ip>), learn
//     when the queue has been taken (/ip/<ip> = managed, written by the VM's stack or,
//     with replay=host, by synjitsu), withdraw the announcement;
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
#include "jitsu_dns/pending_signal.h"
#include "jitsu_dns/vm_spec.h"
#include "xenstore/client.h"

namespace jitsu::dns {

inline constexpr std::string_view managed_value = "managed";

// The value of /synjitsu/booting/<ip> for a VM (synjitsu's README has the contract):
//   replay=guest (default): the MAC alone, e.g. `00:16:3e:00:00:0a`, as ever;
//   replay=host: `<mac> replay=host`, plus ` ports=P+Q+...` when the VM has service
//   ports: its port= values in the order given, then wait_for_port unless listed.
std::string synjitsu_booting_value(const vm_spec& vm);

// One transaction: removes /ip/<ip> (it may still say `managed` from the VM's previous
// run, which would make synjitsu ignore this boot) and writes /synjitsu/booting/<ip> =
// value (synjitsu_booting_value).
boost::asio::awaitable<xenstore::result<void>> announce_booting(xenstore::client& xs,
                                                                const ip_address& ip,
                                                                const std::string& value);
// Removes /synjitsu/booting/<ip>; one already gone (synjitsu may remove it when it takes
// the queue itself) counts as removed.
boost::asio::awaitable<xenstore::result<void>> withdraw_booting(xenstore::client& xs,
                                                                const ip_address& ip);
// Whether /ip/<ip> says `managed` now.
boost::asio::awaitable<bool> is_managed(xenstore::client& xs, const ip_address& ip);

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
