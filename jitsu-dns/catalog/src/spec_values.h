#pragma once
// Strict parsers for the values of VMSPEC keys. Each returns the value or throws
// value_error with a one-line description; the spec parser adds the spec and the key.

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "jitsu_dns/vm_spec.h"

namespace jitsu::dns::detail {

class value_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// `"text"` on one line: quotes and backslashes escaped, bytes outside printable ASCII as
// \xNN, shortened with "..." past `max` characters of input.
std::string quote(std::string_view text, std::size_t max = 200);

// Decimal seconds, 0..max with at most 3 decimals ("0.1", "2", "1.250").
std::chrono::milliseconds parse_seconds(std::string_view text, std::chrono::milliseconds max);
// Unsigned decimal without sign or leading zeros, min..max.
std::uint64_t parse_unsigned(std::string_view text, std::uint64_t min, std::uint64_t max);
// 1/0/true/false/yes/no (any case).
bool parse_bool(std::string_view text);
stop_mode parse_stop_mode(std::string_view text);
replay_mode parse_replay_mode(std::string_view text);
// A TCP port, 1..65535.
std::uint16_t parse_port(std::string_view text);
// kvm | qemu.
libvirt_domain_type parse_libvirt_domain_type(std::string_view text);
// A hostname (letters, digits, '-' not first or last in a label; labels 1..63, at most
// 253 characters), lowercased, one final dot stripped.
std::string parse_dns_name(std::string_view text);
// [A-Za-z0-9_.-]{1,64}, not "." or ".." or starting with '-': a libvirt/Xen domain name and a netns
// name.
std::string parse_vm_name(std::string_view text);
// A relative Xenstore path: [A-Za-z0-9_@/-], no leading or trailing '/', no "//".
std::string parse_xenstore_key(std::string_view text);
// A network interface (bridge) name: 1..15 bytes, printable, no '/', ':' or blank.
std::string parse_interface_name(std::string_view text);
// "target@vdev": target non-empty, vdev [a-z][a-z0-9]* (xvda, hdb, sda1...).
std::string parse_disk(std::string_view text);
// 8-4-4-4-12 hex (any case) → lowercase; the nil UUID is refused.
std::string parse_uuid(std::string_view text);
// A non-empty printable value (paths, kernel command lines).
std::string parse_text(std::string_view text);

}  // namespace jitsu::dns::detail
