#pragma once
// `jitsu-ctl status`: one line (or JSON object) per VM from jitsu-dns's state tree
// (docs/DESIGN.md, "Xenstore layout"): /jitsu/vm/<uuid>/{config/name/0, dns/<i>/name, ip,
// ip6, state, domid, last_request, error}, plus what synjitsu keeps for the VM's IP:
// /synjitsu/booting/<ip> (masking its boot) and /ip/<ip>/<port>/<client>/<cport>/syn
// (connections masked: SYNs queued for the VM to replay) and /ip/<ip> = managed.
//
// The tree holds no boot time: a VM's last boot is not recorded (jitsu-dns keeps it in
// memory only), so the status shows none.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace jitsu::ctl {

inline constexpr std::string_view vm_root = "/jitsu/vm";
// Bounds on what is read from the (untrusted) tree: VMs listed and connections counted
// per VM; beyond them the listing says so.
inline constexpr std::size_t max_vms = 4096;
inline constexpr std::size_t max_counted_connections = 1024;

// What status reads through: a Xenstore client, or a fake tree in tests. Both return
// nullopt for a missing node and throw read_error (one line) for anything else.
class tree_reader {
  public:
    virtual ~tree_reader() = default;
    virtual std::optional<std::string> read(std::string_view path) = 0;
    virtual std::optional<std::vector<std::string>> directory(std::string_view path) = 0;
};

class read_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct vm_status {
    std::string uuid;
    std::string name;  // config/name/0, else the first DNS name, else the uuid
    std::vector<std::string> dns_names;
    std::optional<std::string> ip, ip6;
    std::string state;  // stopped | booting | running | suspended | "?" when missing
    std::optional<std::uint32_t> domid;
    std::optional<double> last_request;  // unix seconds
    std::optional<std::string> error;    // the last backend failure
    bool synjitsu_booting = false;       // /synjitsu/booting/<ip> present
    bool managed = false;                // /ip/<ip> = managed: the VM's stack took over
    std::size_t queued_connections = 0;  // SYNs waiting for the VM to replay
    bool queued_truncated = false;       // more than max_counted_connections
};

struct status_report {
    std::vector<vm_status> vms;  // sorted by name
    bool truncated = false;      // more than max_vms under /jitsu/vm
};

status_report collect_status(tree_reader& tree);

// One header line, then one line per VM, columns aligned; "-" for absent values. Times
// relative to `now` ("12s ago").
std::string format_table(const status_report& report, std::chrono::system_clock::time_point now);
// One JSON document: {"vms":[{...}],"truncated":false}; absent values are null.
std::string format_json(const status_report& report);

}  // namespace jitsu::ctl
