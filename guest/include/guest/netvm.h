#pragma once
// jitsu-netvm's runtime: a Linux network namespace + any server program (CMD) as a
// bootable "VM" on a bridge, whose start-up does what the patched unikernel stack does
// (guest/README.md has the full story).
//
//   1. create the namespace <name> (visible to `ip netns`), a veth pair: outer end
//      "vm-<name>" next to the bridge, inner end "eth0" in the namespace with the MAC,
//      IP/prefix, default route via the gateway, loopback up. The outer end is up but
//      NOT on the bridge: the VM is off the wire (a half-booted Linux answers SYNs with
//      RST), yet its link is ready to carry frames the moment it is attached;
//   2. wait boot_delay (emulates a unikernel's boot time);
//   3. start CMD inside the namespace, in its own process group;
//   4. poll (sock_diag) until something listens on listen_port (or any TCP port);
//   5. at once: attach the outer end to the bridge; take the queued SYNs (syn_take/take.h,
//      one Xenstore transaction, marks /ip/<ip> managed); pre-seed the VM's neighbour
//      entry for each SYN's next hop (the client if on-link, else the gateway) with the
//      captured source MAC; transmit each captured frame on the outer end (delivered
//      into the namespace, where the kernel answers with a SYN/ACK); send the VM's
//      gratuitous ARP (IPv6: unsolicited neighbour advertisement) from the inner end;
//      write /local/domain/<domid>/<ready_key> = "ready";
//   6. supervise: SIGTERM/SIGINT stop (CMD gets SIGTERM, SIGKILL after stop_timeout;
//      veth, namespace and this VM's Xenstore nodes removed); CMD exiting by itself
//      also cleans up and makes run() return exit_code::cmd_exited. SIGUSR1 suspends
//      (SIGSTOP to CMD's group, outer end down), SIGUSR2 resumes (SIGCONT, outer end
//      up, SYNs queued meanwhile replayed, gratuitous ARP).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/mac_address.h"

namespace jitsu::guest {

struct netvm_config {
    // The namespace's name (also names the outer veth end).
    std::string name;
    // The bridge to attach the VM to.
    std::string bridge = "br0";
    // Namespace holding the bridge; empty = jitsu-netvm's own.
    std::string bridge_netns;
    ip_address ip{};
    int prefix_length = 24;
    mac_address mac{};
    // Default route; also the next hop for off-link clients.
    std::optional<ip_address> gateway;
    std::chrono::nanoseconds boot_delay{0};
    // With ready_key: the key written is /local/domain/<domid>/<ready_key>.
    std::optional<std::uint32_t> domid;
    std::string ready_key;
    // Wait for a listener on this port; any TCP port if unset.
    std::optional<std::uint16_t> listen_port;
    // Give up if CMD does not listen within this time.
    std::chrono::milliseconds listen_timeout{30000};
    // SIGTERM -> SIGKILL grace for CMD on stop.
    std::chrono::milliseconds stop_timeout{5000};
    // Interval between listen probes.
    std::chrono::microseconds listen_poll{250};
    // Progress for the process that started us (jitsu-dns): one line each, "started"
    // once the namespace and veth are set up and CMD is found, "ready" once up (step 5),
    // "failed: <why>" before a failure exit. Kept open until we exit, so its EOF tells
    // that we have ended. -1: none.
    int ready_fd = -1;
    // Xenstore socket; empty = the client's default ($XENSTORED_PATH, ...).
    std::string xenstore_socket;
    std::vector<std::string> command;
};

// What run() returns, as the process exit code.
enum class exit_code : int {
    ok = 0,          // stopped by SIGTERM/SIGINT, everything removed
    failure = 1,     // setting up the VM failed (netlink, namespace, bridge...)
    usage = 2,       // bad command line
    cmd_failed = 3,  // CMD could not start, or did not listen in time
    cmd_exited = 4,  // CMD exited (or was killed) by itself
    xenstore = 5,    // Xenstore unreachable or the take-over failed
};

// Interface name of the outer veth end for a VM name ("vm-" + name, shortened with a
// hash to fit IFNAMSIZ).
std::string outer_interface_name(const std::string& vm_name);

// Runs the VM to completion (blocks; installs its own signal handling for SIGTERM,
// SIGINT, SIGUSR1, SIGUSR2, SIGCHLD). Never throws.
exit_code run_netvm(const netvm_config& config);

}  // namespace jitsu::guest
