#pragma once
// The small interface every VM backend implements (netns, libvirt, libxl).
//
// Calls may block (fork/exec, libvirt RPC, libxl): the booter runs them on its backend
// worker thread, never on the DNS event loop, one call at a time per backend. Failures
// throw backend_error with a one-line message that names the VM.

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "jitsu_dns/vm_spec.h"

namespace jitsu::dns {

class backend_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class vm_power { stopped, running, suspended };

struct vm_status {
    vm_power power = vm_power::stopped;
    std::optional<std::uint32_t> domid;  // set while running or suspended
    // Stopped: why, when the backend knows the VM ended by failing (an exit code, a
    // crash); empty otherwise.
    std::string failure;
};

class backend {
  public:
    virtual ~backend() = default;
    virtual std::string_view kind() const = 0;  // "netns", "libvirt", "libxl"

    // Starts (boots) a stopped VM; returns once the backend has launched it (the VM may
    // still be booting) with its domid.
    virtual vm_status start(const vm_spec& vm) = 0;
    // destroy: hard stop; shutdown: ask the VM to stop, then destroy after a grace period;
    // suspend: pause it (resume() continues it). Stopping a stopped VM is not an error.
    virtual void stop(const vm_spec& vm, stop_mode mode) = 0;
    virtual void resume(const vm_spec& vm) = 0;
    // What the backend sees now: used to reconcile at start (adopt VMs booted by an
    // earlier jitsu-dns) and to notice VMs that died.
    virtual vm_status status(const vm_spec& vm) = 0;

    // How the booter follows a boot without blocking. Right after a start() that launched
    // the VM, this hands over (the caller then owns it) a descriptor on which the VM
    // reports its boot, one line each: `started` (launched: set up, on its way), `ready`
    // (up), `failed: WHY`; its EOF means that the VM has ended. -1: the backend has none
    // (the booter then polls status() while the VM boots).
    virtual int take_progress_fd(const vm_spec& /*vm*/) { return -1; }
    // After that descriptor's EOF: waits (bounded) until the VM has ended, forgets it,
    // and says why if the backend knows ("" otherwise).
    virtual std::string ended(const vm_spec& /*vm*/) { return {}; }
};

}  // namespace jitsu::dns
