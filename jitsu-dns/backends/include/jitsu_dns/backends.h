#pragma once
// Choosing and configuring a VM backend: `-x/--backend netns|libvirt|libxl`.
//   netns    jitsu-netvm processes, any Linux host (netns_backend.h: how to run jitsu-dns)
//   libvirt  domains of a libvirt URI (-c), looked up by name, else by uuid; a VM with
//            kernel= and no defined domain gets a transient one (libvirt_domain_xml.h)
//   libxl    Xen domains built from the spec (libxl_config.h); needs a Xen host

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jitsu_dns/backend.h"

namespace jitsu::dns {

struct backend_options {
    // libvirt: `-c/--connect URI` ("" = libvirt's default URI).
    std::string connect_uri;
    // libvirt: `--libvirt-console-dir DIR`: a transient domain's serial console is logged
    // to DIR/<name>.console.log (written by QEMU on libvirtd's host, so DIR must exist
    // there; truncated at each boot). Empty: the console is a pty only (`virsh console`).
    std::filesystem::path libvirt_console_dir;
    // netns: the jitsu-netvm program. Empty: `jitsu-netvm` next to the running executable
    // (/proc/self/exe's directory) if it is there, else `jitsu-netvm` from PATH.
    std::filesystem::path netvm_path;
    // netns: XENSTORED_PATH for jitsu-netvm. Empty: inherited from our environment.
    std::string xenstore_path;
    // netns: jitsu-netvm --netns-of-bridge (an `ip netns` name holding the bridges).
    // Empty: the bridge is in jitsu-dns's own network namespace.
    std::string bridge_netns;
    // netns: extra jitsu-netvm options placed before `--` (e.g. "-v", "--listen-timeout", "5").
    std::vector<std::string> netvm_extra_args;
    // netns: prefix lengths for ip=/ip6= when the spec has no prefix=.
    unsigned default_prefix_v4 = 24;
    unsigned default_prefix_v6 = 64;
    // netns: after SIGTERM, how long jitsu-netvm may take to clean up before SIGKILL (it
    // gives CMD 5 s itself). libvirt/libxl: how long a `shutdown` may take before destroy.
    std::chrono::milliseconds stop_grace{10000};
    // netns: how long start() watches a fresh jitsu-netvm for an early exit (bad bridge,
    // name taken), so the failure is reported by start() itself. 0: return at once.
    std::chrono::milliseconds start_check{0};
};

// "netns", "libvirt" or "libxl". Throws backend_error (one line) for an unknown kind or a
// backend that cannot work here (no libvirt connection, no Xen host).
std::unique_ptr<backend> make_backend(std::string_view kind, const backend_options& options);

}  // namespace jitsu::dns
