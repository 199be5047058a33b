#pragma once
// The VM catalog and runtime state in Xenstore, under /jitsu/vm/<uuid>/ (docs/DESIGN.md):
//
//   config/<key>/<i>   every VMSPEC key=value as given (i counts repeats of a key)
//   dns/<i>/name       dns/<i>/ttl
//   ip  ip6  mac  response_delay (seconds)  stop_mode  use_synjitsu (true|false)
//   wait_for_key  wait_for_port   (only when set)
//   state              stopped | booting | running | suspended
//   domid              while the backend gives one
//   last_request       unix time of the last query, seconds with milliseconds
//   error              the last backend failure (removed by the next good boot)
//
// jitsu-dns is the only writer of /jitsu. Every update of several nodes is one
// transaction; updates of a VM are written in the order they were made, and runtime
// changes that pile up while a write is under way are coalesced into the next one.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jitsu_dns/vm_spec.h"
#include "jitsu_dns/vm_state.h"
#include "xenstore/client.h"

namespace jitsu::dns {

inline constexpr std::string_view state_tree_root = "/jitsu/vm";

// What the tree shows of a VM's runtime.
struct vm_tree_state {
    vm_phase phase = vm_phase::stopped;
    std::optional<std::uint32_t> domid;
    std::optional<std::string> error;
    std::optional<std::chrono::system_clock::time_point> last_request;
};

// "1700000000.123"
std::string format_unix_time(std::chrono::system_clock::time_point t);
// Seconds as the original Jitsu writes them: "0.1", "2", "0.25".
std::string format_seconds(std::chrono::milliseconds d);

class state_tree {
  public:
    // `catalog` must outlive the tree.
    state_tree(xenstore::client& xs, const std::vector<vm_spec>& catalog);
    state_tree(const state_tree&) = delete;
    state_tree& operator=(const state_tree&) = delete;

    std::string vm_path(std::size_t vm) const;

    // At start: removes /jitsu/vm/<uuid> of VMs no longer in the catalog, then writes each
    // VM's whole subtree afresh (config from this run, `initial` runtime state), one
    // transaction per VM. `initial` has one entry per catalog VM.
    boost::asio::awaitable<xenstore::result<void>> publish(std::span<const vm_tree_state> initial);

    // Runtime changes: recorded at once, written by a background flush (one transaction
    // for every VM changed since the previous write). A failed write is retried every
    // second until close().
    void set_state(std::size_t vm, vm_phase phase, std::optional<std::uint32_t> domid,
                   const std::optional<std::string>& error);
    void set_last_request(std::size_t vm, std::chrono::system_clock::time_point t);

    // Resolves once everything recorded so far is written, or after `limit`.
    boost::asio::awaitable<void> drain(std::chrono::milliseconds limit);
    // Stops retrying (shutdown); a write under way still finishes.
    void close() { closed_ = true; }

    std::uint64_t writes() const { return writes_; }
    std::uint64_t write_failures() const { return write_failures_; }

  private:
    struct entry {
        std::string state = "stopped";
        std::optional<std::string> domid, error, last_request;
        bool dirty = false;
    };
    void kick();
    boost::asio::awaitable<void> flush_loop();
    // The catalog part of a VM's subtree: (relative path, value) pairs.
    std::vector<std::pair<std::string, std::string>> catalog_nodes(std::size_t vm) const;

    xenstore::client& xs_;
    const std::vector<vm_spec>& catalog_;
    std::vector<entry> entries_;
    bool flushing_ = false;
    bool closed_ = false;
    std::uint64_t writes_ = 0, write_failures_ = 0;
};

}  // namespace jitsu::dns
