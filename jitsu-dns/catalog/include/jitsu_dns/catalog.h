#pragma once
// The VM catalog: VMSPECs (`key=value,...`, as the original Jitsu) from the command line
// and from --config files, parsed into vm_spec and checked as a whole. Everything here
// runs at start-up; every error is a spec_error whose what() is one line naming the spec
// (or FILE:LINE) and the key, e.g.
//   VMSPEC "name=www,ip=10.0.0.300,dns=www.example.org": ip: "10.0.0.300" is not an IPv4 address

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "jitsu_dns/vm_spec.h"

namespace jitsu::dns {

// Values a VMSPEC may leave out, from the command line (-t, -d, --wait-timeout, -m).
struct catalog_defaults {
    std::uint32_t ttl = 60;                         // -t: DNS TTL; idle stop after 2×ttl
    std::chrono::milliseconds response_delay{100};  // -d: answer delay after a boot
    std::chrono::milliseconds wait_timeout{5000};   // --wait-timeout: wait_for_key/port bound
    stop_mode stop = stop_mode::destroy;            // -m
};

// Bounds on untrusted catalog input.
struct catalog_limits {
    static constexpr std::size_t max_spec_bytes = 4096;
    static constexpr std::size_t max_dns_names = 64;
    static constexpr std::size_t max_disks = 16;
    // port= values: what /synjitsu/booting/<ip> carries (wait_for_port's port included).
    static constexpr std::size_t max_ports = jitsu::max_booting_ports;
    static constexpr std::size_t max_cmd_args = 64;
    static constexpr std::size_t max_name_length = 64;
    static constexpr std::size_t max_wait_key_length = 256;
    static constexpr std::uint32_t max_ttl = 7 * 24 * 3600;
    static constexpr std::chrono::milliseconds max_seconds_value{3600 * 1000};
    static constexpr std::uint64_t max_memory_kib = std::uint64_t{1} << 32;  // 4 TiB
    static constexpr std::uintmax_t max_config_bytes = 1024 * 1024;
    static constexpr std::size_t max_vms = 4096;
};

class spec_error : public std::runtime_error {
  public:
    // where: `VMSPEC "..."` or `FILE:LINE`; key: the offending key ("" for the spec as a
    // whole); detail: what is wrong with it.
    spec_error(std::string where, std::string key, std::string detail);
    const std::string& where() const { return where_; }
    const std::string& key() const { return key_; }
    const std::string& detail() const { return detail_; }

  private:
    std::string where_, key_, detail_;
};

// One VMSPEC. Unknown keys, duplicates of non-repeatable keys, missing name / dns /
// (ip or ip6), malformed values and keys that contradict each other (wait_for_port with
// wait_for_key, replay=host without use_synjitsu, port= without replay=host) throw
// spec_error. origin is set to `VMSPEC "..."`.
vm_spec parse_vm_spec(std::string_view text, const catalog_defaults& defaults);

// One VMSPEC per line; blank lines and lines whose first non-blank character is '#' are
// skipped. Errors name FILE:LINE and the key. The file must be a regular file of at most
// max_config_bytes; a line may hold at most max_spec_bytes.
std::vector<vm_spec> load_config_file(const std::filesystem::path& path,
                                      const catalog_defaults& defaults);

// No two VMs may share a name, uuid, dns name, ip, ip6 or mac; at most max_vms VMs.
// Throws spec_error naming both specs.
void validate_catalog(const std::vector<vm_spec>& vms);

// The default uuid= of a VM: a name-based (SHA-1, version 5) UUID of `name` under
// jitsu-dns's own namespace UUID, lowercase 8-4-4-4-12. Stable across restarts.
std::string name_based_uuid(std::string_view name);

// `VMSPEC "<text>"` with the text quoted on one line (control bytes escaped, long texts
// shortened): the `where` of errors about a command-line spec.
std::string describe_spec(std::string_view text);

}  // namespace jitsu::dns
