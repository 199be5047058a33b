#include "jitsu_dns/authority_from_catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace jitsu::dns {

namespace {

bool inside(std::string_view name, std::string_view zone) {
    if (name == zone) return true;
    return name.size() > zone.size() && name.ends_with(zone) &&
           name[name.size() - zone.size() - 1] == '.';
}

// The longest zone holding `name`, or nullptr.
const std::string* zone_of(std::string_view name, const std::vector<std::string>& zones) {
    const std::string* best = nullptr;
    for (const auto& z : zones) {
        if (inside(name, z) && (best == nullptr || z.size() > best->size())) best = &z;
    }
    return best;
}

}  // namespace

std::string normalize_zone(std::string_view text) {
    std::string z(text);
    if (!z.empty() && z.back() == '.') z.pop_back();
    std::transform(z.begin(), z.end(), z.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto bad = [&](const char* why) {
        return std::invalid_argument(fmt::format("--zone '{}': {}", text, why));
    };
    if (z.empty()) throw bad("empty (the root zone is not served)");
    if (z.size() > 253) throw bad("longer than 253 characters");
    std::size_t label = 0;
    for (char c : z) {
        if (c == '.') {
            if (label == 0) throw bad("empty label");
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) throw bad("only letters, digits, '-' and '_' in labels");
        if (++label > 63) throw bad("a label is longer than 63 characters");
    }
    if (label == 0) throw bad("empty label");
    return z;
}

authority_config authority_from_catalog(const std::vector<vm_spec>& catalog,
                                        const zone_inputs& inputs) {
    std::vector<std::string> zones;
    for (const auto& z : inputs.zones) zones.push_back(normalize_zone(z));
    const bool derived = zones.empty();
    if (derived) {
        for (const auto& vm : catalog) {
            for (const auto& name : vm.dns_names) {
                const auto dot = name.find('.');
                if (dot == std::string::npos) {
                    throw std::invalid_argument(
                        fmt::format("{}: dns name '{}' has no parent domain to serve; give --zone",
                                    vm.name, name));
                }
                zones.push_back(name.substr(dot + 1));
            }
        }
    }
    std::sort(zones.begin(), zones.end());
    zones.erase(std::unique(zones.begin(), zones.end()), zones.end());

    authority_config out;
    std::map<std::string, bool> used;
    for (std::size_t vm = 0; vm < catalog.size(); ++vm) {
        const vm_spec& spec = catalog[vm];
        for (const auto& name : spec.dns_names) {
            const std::string* zone = zone_of(name, zones);
            if (zone == nullptr) {
                throw std::invalid_argument(
                    fmt::format("{}: dns name '{}' is not inside any --zone", spec.name, name));
            }
            used[*zone] = true;
            out.names.push_back({name, vm, spec.ttl, spec.ip, spec.ip6});
        }
    }
    for (const auto& z : zones) {
        // A derived zone no name needs (org, when example.org is a zone too) would make us
        // answer, wrongly, for everything under it.
        if (derived && !used[z]) continue;
        zone_config zc;
        zc.origin = z;
        zc.primary_ns = "ns." + z;
        zc.mailbox = "hostmaster." + z;
        zc.serial = inputs.serial;
        zc.ttl = inputs.ttl;
        zc.minimum = inputs.ttl;
        const bool ns_is_a_vm =
            std::any_of(out.names.begin(), out.names.end(),
                        [&](const name_record& n) { return n.name == zc.primary_ns; });
        if (inputs.ns_address && !ns_is_a_vm) zc.ns_ipv4.push_back(*inputs.ns_address);
        out.zones.push_back(std::move(zc));
    }
    return out;
}

}  // namespace jitsu::dns
