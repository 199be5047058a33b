#pragma once
// One VM of the catalog, as given by a VMSPEC (`key=value,...`) or a --config line.
// This is the contract between the catalog (parsing), the backends (starting it) and the
// booter (masking modes, idle stop, state tree). Values are validated at parse time, so
// the rest of jitsu-dns never re-checks them.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/booting_value.h"
#include "common/ip_address.h"
#include "common/ipv4_address.h"
#include "common/ipv6_address.h"
#include "common/mac_address.h"

namespace jitsu::dns {

// What idle stop (and --stop-on-exit) does to a VM: `-m/--mode`, per VM `stop_mode=`.
enum class stop_mode { destroy, suspend, shutdown };

// Who takes the SYNs synjitsu queued for a use_synjitsu VM (`replay=`): the VM's own
// patched stack (guest, as the original Jitsu), or synjitsu itself once the VM's service
// accepts (host: for unmodified guests). The type of the /synjitsu/booting/<ip> contract.
using jitsu::replay_mode;

// The libvirt domain type of a transient domain (`domain_type=`): kvm (hardware
// virtualisation) or qemu (TCG emulation).
enum class libvirt_domain_type { kvm, qemu };

struct vm_spec {
    // Stable identity: `uuid=` if given, else derived deterministically from `name` (so a
    // restarted jitsu-dns finds the same /jitsu/vm/<uuid>). Lowercase 8-4-4-4-12 hex.
    std::string uuid;
    std::string name;                    // `name=` (required): backend domain name
    std::vector<std::string> dns_names;  // `dns=` (repeatable, ≥ 1): lowercase, no final dot
    std::uint32_t ttl = 0;               // `ttl=` or -t
    std::optional<ipv4_address> ip;      // `ip=` (an A record); at least one of ip / ip6
    std::optional<ipv6_address> ip6;     // `ip6=` (an AAAA record)
    // `mac=`; default derived from ip (Xen OUI 00:16:3e + the address's low 3 bytes), so
    // synjitsu and the VM agree without configuration.
    mac_address mac;
    std::chrono::milliseconds response_delay{0};  // `response_delay=` (seconds) or -d
    std::optional<std::string> wait_for_key;  // `wait_for_key=`, relative to /local/domain/<domid>/
    std::chrono::milliseconds wait_timeout{0};  // `wait_timeout=` (seconds) or --wait-timeout
    bool use_synjitsu = false;                  // `use_synjitsu=1|true|0|false`
    // `wait_for_port=` (1..65535): hold the answer until the VM accepts TCP on it, at most
    // wait_timeout. Never together with wait_for_key; with use_synjitsu it is only a
    // service port (synjitsu masks the boot).
    std::optional<std::uint16_t> wait_for_port;
    replay_mode replay = replay_mode::guest;  // `replay=guest|host`; host needs use_synjitsu
    // `port=` (repeatable, distinct): the VM's service ports, announced to synjitsu with
    // replay=host (which requires it) so it probes them before any SYN is queued.
    std::vector<std::uint16_t> ports;
    stop_mode stop = stop_mode::destroy;  // `stop_mode=` or -m

    // Backend inputs (validated where their meaning is fixed).
    std::string kernel;  // `kernel=` (libxl/libvirt)
    std::string initrd;  // `initrd=` (libvirt; needs kernel=)
    // `domain_type=` (libvirt, needs kernel=): unset = kvm when libvirt offers KVM.
    std::optional<libvirt_domain_type> domain_type;
    std::optional<std::uint64_t> memory_kib;  // `memory=` in KiB, as the original Jitsu
    std::string cmdline;                      // `cmdline=`
    std::string nic;                          // `nic=` bridge (netns: the bridge jitsu-netvm joins)
    std::string script;                       // `script=` (libxl vif script)
    std::vector<std::string> disks;           // `disk=` (repeatable) "target@vdev"
    std::string rumprun_config;               // `rumprun_config=` (libxl)
    std::string cmd;                          // `cmd=` (netns: the server program, split on spaces)
    std::chrono::milliseconds boot_delay{0};  // `boot_delay=` (netns: emulated boot time)
    std::optional<std::uint8_t> prefix_len;   // `prefix=` (netns: ip/prefix, default 24)
    // `gateway=` (netns): the default route of the VM's one address (ip=, else ip6=), so
    // of that family: an IPv6-only VM needs an IPv6 gateway to reach off-link clients.
    std::optional<ip_address> gateway;

    // Every key=value exactly as given, in order: written to /jitsu/vm/<uuid>/config/<key>/<i>.
    std::vector<std::pair<std::string, std::string>> raw;
    // Where the spec came from, for error messages that name it: `VMSPEC "..."` (quoted,
    // shortened) or `FILE:LINE` of a --config file. Set by the parser.
    std::string origin;
};

}  // namespace jitsu::dns
