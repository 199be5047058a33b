#pragma once
// The libxl backend's translation of a vm_spec into a libxl domain config. Pure (no Xen
// needed): unit-tested by inspecting the struct. Running VMs with libxl needs a Xen host
// (make_backend("libxl", ...) fails with "libxl backend needs a Xen host: ..." otherwise).

#include <cstddef>

#include "jitsu_dns/backend.h"

// From <libxl.h> (not included here: it has no C++ guards and pulls in a lot).
struct libxl_domain_config;

namespace jitsu::dns {

// Xen's limit on a PV guest's command line (MAX_GUEST_CMDLINE in xen/include/public/xen.h),
// less the terminating NUL.
constexpr std::size_t libxl_max_cmdline = 1023;

// Fills `out`, which the caller has libxl_domain_config_init()ed (and disposes with
// libxl_domain_config_dispose(), also after an exception):
//   c_info   PV, name, uuid
//   b_info   PV, kernel, max_memkb = target_memkb = memory, 1 vcpu, cmdline — or, with
//            rumprun_config=FILE, the file's content as the command line (as the original
//            Jitsu does for rumprun; newlines/tabs become spaces, at most libxl_max_cmdline)
//   nics     with nic=: one VIF on that bridge with the VM's MAC, ip= and script=
//   disks    each disk=TARGET@VDEV: raw, read-write, backend chosen by libxl
// Throws backend_error (one line, naming the VM) without kernel= or memory=, with both
// cmdline= and rumprun_config=, or an unreadable / oversized / binary rumprun_config.
void build_libxl_config(const vm_spec& vm, libxl_domain_config* out);

}  // namespace jitsu::dns
