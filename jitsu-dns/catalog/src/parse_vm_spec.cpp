// VMSPEC parsing: split `key=value,...`, dispatch each key through one table, then check
// what only the whole spec can tell (required keys, defaults derived from other keys).
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "jitsu_dns/catalog.h"
#include "spec_values.h"

namespace jitsu::dns {
namespace {

using detail::value_error;

enum class key_id {
    dns,
    ip,
    ip6,
    name,
    mac,
    kernel,
    initrd,
    domain_type,
    memory,
    cmdline,
    nic,
    script,
    disk,
    rumprun_config,
    response_delay,
    wait_for_key,
    wait_timeout,
    use_synjitsu,
    stop_mode,
    ttl,
    uuid,
    cmd,
    boot_delay,
    prefix,
    gateway,
    wait_for_port,
    replay,
    port
};

struct key_info {
    std::string_view name;
    key_id id;
    bool repeatable;
};

// Every key a VMSPEC may hold. dns=, disk= and port= repeat; every other key appears once.
constexpr std::array<key_info, 28> keys{{
    {"dns", key_id::dns, true},
    {"ip", key_id::ip, false},
    {"ip6", key_id::ip6, false},
    {"name", key_id::name, false},
    {"mac", key_id::mac, false},
    {"kernel", key_id::kernel, false},
    {"initrd", key_id::initrd, false},
    {"domain_type", key_id::domain_type, false},
    {"memory", key_id::memory, false},
    {"cmdline", key_id::cmdline, false},
    {"nic", key_id::nic, false},
    {"script", key_id::script, false},
    {"disk", key_id::disk, true},
    {"rumprun_config", key_id::rumprun_config, false},
    {"response_delay", key_id::response_delay, false},
    {"wait_for_key", key_id::wait_for_key, false},
    {"wait_timeout", key_id::wait_timeout, false},
    {"use_synjitsu", key_id::use_synjitsu, false},
    {"stop_mode", key_id::stop_mode, false},
    {"ttl", key_id::ttl, false},
    {"uuid", key_id::uuid, false},
    {"cmd", key_id::cmd, false},
    {"boot_delay", key_id::boot_delay, false},
    {"prefix", key_id::prefix, false},
    {"gateway", key_id::gateway, false},
    {"wait_for_port", key_id::wait_for_port, false},
    {"replay", key_id::replay, false},
    {"port", key_id::port, true},
}};

std::string known_keys() {
    std::string out;
    for (const auto& k : keys) {
        if (!out.empty()) out += ", ";
        out += k.name;
    }
    return out;
}

ipv4_address parse_unicast_v4(std::string_view text) {
    const auto a = ipv4_address::parse(text);
    if (!a) throw value_error(fmt::format("{} is not an IPv4 address", detail::quote(text)));
    if (a->is_unspecified() || a->is_broadcast() || a->is_multicast()) {
        throw value_error(fmt::format("{} is not a unicast address", detail::quote(text)));
    }
    return *a;
}

ipv6_address parse_unicast_v6(std::string_view text) {
    // inet_pton would take a zone-less address of any length; bound it first.
    const auto a =
        text.size() <= ipv6_address::max_string_length ? ipv6_address::parse(text) : std::nullopt;
    if (!a) throw value_error(fmt::format("{} is not an IPv6 address", detail::quote(text)));
    if (a->is_unspecified() || a->is_multicast()) {
        throw value_error(fmt::format("{} is not a unicast address", detail::quote(text)));
    }
    return *a;
}

// cmd= is run without a shell, split on spaces: at least one word, bounded.
std::string parse_cmd(std::string_view text) {
    std::string cmd = detail::parse_text(text);
    std::size_t words = 0;
    bool in_word = false;
    for (char c : cmd) {
        if (c != ' ' && !in_word) ++words;
        in_word = c != ' ';
    }
    if (words == 0) throw value_error("no program (cmd= is split on spaces)");
    if (words > catalog_limits::max_cmd_args) {
        throw value_error(fmt::format("{} words, at most {}", words, catalog_limits::max_cmd_args));
    }
    return cmd;
}

// The Xen OUI 00:16:3e plus the low three bytes of the VM's address, so synjitsu, the
// state tree and the VM agree on the MAC without configuration.
mac_address derived_mac(const vm_spec& vm) {
    std::array<std::uint8_t, 3> low{};
    if (vm.ip) {
        const auto b = vm.ip->bytes();
        low = {b[1], b[2], b[3]};
    } else {
        const auto& b = vm.ip6->bytes();
        low = {b[13], b[14], b[15]};
    }
    return mac_address({0x00, 0x16, 0x3e, low[0], low[1], low[2]});
}

void apply(vm_spec& vm, key_id id, std::string_view value) {
    using namespace detail;
    switch (id) {
        case key_id::dns: {
            if (vm.dns_names.size() >= catalog_limits::max_dns_names) {
                throw value_error(fmt::format("more than {} names", catalog_limits::max_dns_names));
            }
            std::string name = parse_dns_name(value);
            if (std::find(vm.dns_names.begin(), vm.dns_names.end(), name) != vm.dns_names.end()) {
                throw value_error(fmt::format("{} given twice", quote(name)));
            }
            vm.dns_names.push_back(std::move(name));
            break;
        }
        case key_id::ip:
            vm.ip = parse_unicast_v4(value);
            break;
        case key_id::ip6:
            vm.ip6 = parse_unicast_v6(value);
            break;
        case key_id::name:
            vm.name = parse_vm_name(value);
            break;
        case key_id::mac: {
            const auto m = mac_address::parse(value);
            if (!m) throw value_error(fmt::format("{} is not a MAC address", quote(value)));
            if (m->is_multicast() || m->is_zero()) {
                throw value_error(fmt::format("{} is not a unicast MAC address", quote(value)));
            }
            vm.mac = *m;
            break;
        }
        case key_id::kernel:
            vm.kernel = parse_text(value);
            break;
        case key_id::initrd:
            vm.initrd = parse_text(value);
            break;
        case key_id::domain_type:
            vm.domain_type = parse_libvirt_domain_type(value);
            break;
        case key_id::memory:
            vm.memory_kib = parse_unsigned(value, 1, catalog_limits::max_memory_kib);
            break;
        case key_id::cmdline:
            vm.cmdline = parse_text(value);
            break;
        case key_id::nic:
            vm.nic = parse_interface_name(value);
            break;
        case key_id::script:
            vm.script = parse_text(value);
            break;
        case key_id::disk:
            if (vm.disks.size() >= catalog_limits::max_disks) {
                throw value_error(fmt::format("more than {} disks", catalog_limits::max_disks));
            }
            vm.disks.push_back(parse_disk(value));
            break;
        case key_id::rumprun_config:
            vm.rumprun_config = parse_text(value);
            break;
        case key_id::response_delay:
            vm.response_delay = parse_seconds(value, catalog_limits::max_seconds_value);
            break;
        case key_id::wait_for_key:
            vm.wait_for_key = parse_xenstore_key(value);
            break;
        case key_id::wait_timeout:
            vm.wait_timeout = parse_seconds(value, catalog_limits::max_seconds_value);
            break;
        case key_id::use_synjitsu:
            vm.use_synjitsu = parse_bool(value);
            break;
        case key_id::stop_mode:
            vm.stop = parse_stop_mode(value);
            break;
        case key_id::ttl:
            vm.ttl = static_cast<std::uint32_t>(parse_unsigned(value, 1, catalog_limits::max_ttl));
            break;
        case key_id::uuid:
            vm.uuid = parse_uuid(value);
            break;
        case key_id::cmd:
            vm.cmd = parse_cmd(value);
            break;
        case key_id::boot_delay:
            vm.boot_delay = parse_seconds(value, catalog_limits::max_seconds_value);
            break;
        case key_id::prefix:
            // Range checked against the address family once the whole spec is read.
            vm.prefix_len = static_cast<std::uint8_t>(parse_unsigned(value, 0, 128));
            break;
        case key_id::gateway:
            // Either family; checked against the VM's address once the whole spec is read.
            if (value.find(':') != std::string_view::npos) {
                vm.gateway = parse_unicast_v6(value);
            } else {
                vm.gateway = parse_unicast_v4(value);
            }
            break;
        case key_id::wait_for_port:
            vm.wait_for_port = parse_port(value);
            break;
        case key_id::replay:
            vm.replay = parse_replay_mode(value);
            break;
        case key_id::port: {
            if (vm.ports.size() >= catalog_limits::max_ports) {
                throw value_error(fmt::format("more than {} ports", catalog_limits::max_ports));
            }
            const std::uint16_t port = parse_port(value);
            if (std::find(vm.ports.begin(), vm.ports.end(), port) != vm.ports.end()) {
                throw value_error(fmt::format("{} given twice", port));
            }
            vm.ports.push_back(port);
            break;
        }
    }
}

// Checks and defaults that depend on several keys. Throws spec_error via `fail`.
template <typename Fail>
void complete(vm_spec& vm, const catalog_defaults& defaults,
              const std::array<int, keys.size()>& seen, Fail fail) {
    const auto given = [&](key_id id) { return seen[static_cast<std::size_t>(id)] > 0; };
    if (vm.name.empty()) fail("name", "missing (name= is required)");
    if (vm.dns_names.empty()) fail("dns", "missing (at least one dns= is required)");
    if (!vm.ip && !vm.ip6) fail("ip", "missing (ip= or ip6= is required)");
    if (vm.prefix_len) {
        const unsigned max = vm.ip ? 32 : 128;
        if (*vm.prefix_len == 0 || *vm.prefix_len > max) {
            fail("prefix", fmt::format("{} is not a prefix length from 1 to {} for {}",
                                       *vm.prefix_len, max, vm.ip ? "ip=" : "ip6="));
        }
    }
    // The netns VM gets one address, ip= when given, else ip6=: the gateway is its next hop.
    if (vm.gateway && vm.gateway->is_v4() && !vm.ip) fail("gateway", "an IPv4 gateway needs ip=");
    if (vm.gateway && vm.gateway->is_v6() && vm.ip) {
        fail("gateway", "an IPv6 gateway needs an IPv6-only VM (ip6= without ip=)");
    }
    // Masking modes: one wait per VM (the key or the port); replay= and port= describe
    // what synjitsu does, so they mean nothing without it.
    if (vm.wait_for_port && vm.wait_for_key) {
        fail("wait_for_port", "wait_for_key is given too (a VM waits for its key or its port)");
    }
    if (vm.replay == replay_mode::host && !vm.use_synjitsu) {
        fail("replay", "replay=host needs use_synjitsu=1 (synjitsu replays the queued SYNs)");
    }
    if (!vm.ports.empty() && vm.replay != replay_mode::host) {
        fail("port", "port= is the host replay's probe hint: it needs replay=host");
    }
    if (vm.wait_for_port && vm.replay == replay_mode::host &&
        std::find(vm.ports.begin(), vm.ports.end(), *vm.wait_for_port) == vm.ports.end() &&
        vm.ports.size() >= catalog_limits::max_ports) {
        fail("wait_for_port", fmt::format("with {} port= values, its port makes more than {} "
                                          "(what synjitsu's booting entry carries)",
                                          vm.ports.size(), catalog_limits::max_ports));
    }
    // Both only shape a domain built from kernel= (a persistent domain has its own).
    if (given(key_id::initrd) && vm.kernel.empty()) fail("initrd", "needs kernel=");
    if (given(key_id::domain_type) && vm.kernel.empty()) fail("domain_type", "needs kernel=");
    if (!given(key_id::ttl)) vm.ttl = defaults.ttl;
    if (!given(key_id::response_delay)) vm.response_delay = defaults.response_delay;
    if (!given(key_id::wait_timeout)) vm.wait_timeout = defaults.wait_timeout;
    if (!given(key_id::stop_mode)) vm.stop = defaults.stop;
    if (!given(key_id::mac)) vm.mac = derived_mac(vm);
    if (!given(key_id::uuid)) vm.uuid = name_based_uuid(vm.name);
}

}  // namespace

spec_error::spec_error(std::string where, std::string key, std::string detail)
    : std::runtime_error(where + ": " + (key.empty() ? std::string{} : key + ": ") + detail),
      where_(std::move(where)),
      key_(std::move(key)),
      detail_(std::move(detail)) {}

std::string describe_spec(std::string_view text) { return "VMSPEC " + detail::quote(text); }

vm_spec parse_vm_spec(std::string_view text, const catalog_defaults& defaults) {
    const auto fail = [&](std::string key, std::string detail) {
        throw spec_error(describe_spec(text), std::move(key), std::move(detail));
    };
    if (text.size() > catalog_limits::max_spec_bytes) {
        fail("", fmt::format("too long ({} bytes, at most {})", text.size(),
                             catalog_limits::max_spec_bytes));
    }
    if (text.empty()) fail("", "empty");
    if (const auto it =
            std::find_if(text.begin(), text.end(), [](char c) { return c < 0x20 || c > 0x7e; });
        it != text.end()) {
        fail("", fmt::format("byte {} is outside printable ASCII", it - text.begin()));
    }

    vm_spec vm;
    vm.origin = describe_spec(text);
    std::array<int, keys.size()> seen{};
    std::size_t pos = 0;
    for (std::size_t item_no = 1;; ++item_no) {
        const auto comma = text.find(',', pos);
        const std::string_view item =
            text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
        if (item.empty()) fail("", fmt::format("item {} is empty (stray ',')", item_no));
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            fail(std::string(item.substr(0, 64)), "not key=value");
        }
        const std::string_view key = item.substr(0, eq);
        const std::string_view value = item.substr(eq + 1);
        const auto info = std::find_if(keys.begin(), keys.end(),
                                       [&](const key_info& k) { return k.name == key; });
        if (key.empty()) fail("", fmt::format("item {} has an empty key", item_no));
        if (info == keys.end())
            fail(std::string(key.substr(0, 64)), "unknown key (known: " + known_keys() + ")");
        auto& count = seen[static_cast<std::size_t>(info->id)];
        if (count > 0 && !info->repeatable) fail(std::string(key), "given twice");
        ++count;
        try {
            apply(vm, info->id, value);
        } catch (const value_error& e) {
            fail(std::string(key), e.what());
        }
        vm.raw.emplace_back(key, value);
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    complete(vm, defaults, seen, fail);
    return vm;
}

}  // namespace jitsu::dns
