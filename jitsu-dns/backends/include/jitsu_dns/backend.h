#pragma once
// The small interface every VM backend implements (netns, libvirt, libxl).
//
// Calls may block (fork/exec, libvirt RPC, libxl): the booter runs them on its backend
// worker thread, never on the DNS event loop, one call at a time per backend. Failures
// throw backend_error with a one-line message that names the VM.

#include "jitsu_dns/vm_spec.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace jitsu::dns {

class backend_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class vm_power { stopped, running, suspended };

struct vm_status {
    vm_power power = vm_power::stopped;
    std::optional<std::uint32_t> domid;  // set while running or suspended
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
};

}  // namespace jitsu::dns
