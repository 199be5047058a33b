#pragma once
// The booter's per-VM runtime state: where the VM is in its life cycle, who waits for it,
// and when it was last asked for. Lives on the DNS event loop only (no locks).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jitsu_dns/backend.h"

namespace jitsu::dns {

using steady_time = std::chrono::steady_clock::time_point;

// Life cycle. Every arrow is one coroutine of the booter; queries never block on it.
//
//   stopped --query--> booting --mode satisfied--> running --idle 2xTTL--> stopping
//      ^                  |  backend failed (SERVFAIL)                       |
//      +------------------+----------------------------- destroy/shutdown --+
//   suspended <-- suspend --+  suspended --query--> resuming --> running
//   stopped --query, --max-booting reached--> queued --boot slot free--> booting
//                                               +--queue wait over (SERVFAIL)--> stopped
//
// A boot is confirmed (the VM came up) when the backend's progress descriptor says
// `ready`, or, for a backend without one, when it is still alive boot_grace after its
// answers went out. A VM that ends before that failed to boot (SERVFAIL, `error`,
// back-off); one that ends later died (boots again on the next query).
enum class vm_phase : std::uint8_t {
    stopped,
    booting,
    running,
    stopping,
    suspended,
    resuming,
    queued
};

std::string_view to_string(vm_phase phase);
// The value of /jitsu/vm/<uuid>/state: stopped / booting / running / suspended. A VM
// being stopped still shows `running` (it is, until the backend says otherwise); one
// being resumed, or queued for a boot slot, shows `booting` (its answers are held).
std::string_view tree_state(vm_phase phase);
// `stop_mode` as written to the tree and the logs: destroy / suspend / shutdown.
std::string_view stop_mode_name(stop_mode mode);

// Holds the answers of queries that arrived while the VM was not answerable.
using waiter = std::function<void(bool ok)>;

struct vm_runtime {
    vm_phase phase = vm_phase::stopped;
    std::optional<std::uint32_t> domid;
    // Bumped on every phase change: the result of an asynchronous step (backend call,
    // timer, status poll) applies only if the epoch it started in is still current.
    std::uint64_t epoch = 0;

    // Booting: answers may go out already (use_synjitsu, once /synjitsu/booting is
    // written), although the backend call may still be under way.
    bool answers_released = false;
    // A query arrived while stopping: boot (or resume) again as soon as the stop is done.
    bool wake_after_stop = false;
    std::vector<waiter> waiters;

    // Hot path: the last query, stored without a clock conversion or a Xenstore write.
    // last_request_dirty tells the once-a-second flush that the tree is behind.
    steady_time last_query{};
    bool ever_queried = false;
    bool last_request_dirty = false;
    // Idle stop counts from max(last_query, active_since): a VM whose boot took longer
    // than 2xTTL is not stopped the moment it is up.
    steady_time active_since{};

    // The last backend failure (written to the tree as `error`), and when a new boot may
    // be tried: queries before that get SERVFAIL at once instead of hammering a failing
    // backend.
    std::optional<std::string> error;
    steady_time retry_after{};

    // The current boot. boot_id tells its progress lines and timers from an older boot's.
    // start_returned: the backend's start() is done; launched: and, with a progress
    // descriptor, `started` came (answers wait for it: a VM that cannot even be set up
    // gets SERVFAIL, not its address); confirmed: it came up (see vm_phase).
    std::uint64_t boot_id = 0;
    bool start_returned = false;
    bool has_progress = false;
    bool launched = false;
    bool confirmed = true;  // nothing to confirm for a VM we did not boot
    // The masking mode was satisfied before the launch: released once launched.
    const char* satisfied_early = nullptr;
    // What the VM said before failing (`failed: WHY`).
    std::string reported_failure;
    // Without a progress descriptor: confirmed when this passes with the VM alive.
    steady_time confirm_by{};
    // Holds one of the --max-booting slots (from the boot's start until confirmed, or
    // for a backend without progress, until its answers went out).
    bool boot_slot = false;
    // Queued: SERVFAIL for its held queries if no slot is free by then.
    steady_time queued_until{};
    // Consecutive failed boots: the back-off doubles with each.
    unsigned failures = 0;
    // A stop that follows a failed boot keeps `error` (a normal stop clears it).
    bool keep_error = false;

    // use_synjitsu: /synjitsu/booting/<ip> is ours and not yet removed.
    bool booting_node = false;

    // For the log lines: when the current boot/resume/stop began.
    steady_time step_started{};
};

}  // namespace jitsu::dns
