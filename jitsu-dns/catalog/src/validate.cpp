// Catalog-wide checks: a name, uuid, DNS name, address or MAC maps to one VM only.
#include <fmt/format.h>

#include <map>
#include <string>

#include "common/format.h"
#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

std::string origin_of(const vm_spec& vm) {
    return vm.origin.empty() ? fmt::format("VM \"{}\"", vm.name) : vm.origin;
}

// Remembers which VM claimed each value of one property; a second claim is an error.
class claims {
  public:
    claims(const std::vector<vm_spec>& vms, std::string_view what) : vms_(vms), what_(what) {}
    void claim(const std::string& value, std::size_t vm) {
        const auto [it, inserted] = owner_.emplace(value, vm);
        if (inserted || it->second == vm) return;
        throw spec_error(origin_of(vms_[vm]), std::string(what_),
                         fmt::format("{} is also used by {}", value, origin_of(vms_[it->second])));
    }

  private:
    const std::vector<vm_spec>& vms_;
    std::string_view what_;
    std::map<std::string, std::size_t> owner_;
};

}  // namespace

void validate_catalog(const std::vector<vm_spec>& vms) {
    if (vms.size() > catalog_limits::max_vms) {
        throw spec_error("catalog", "",
                         fmt::format("{} VMs, at most {}", vms.size(), catalog_limits::max_vms));
    }
    claims names(vms, "name"), uuids(vms, "uuid"), dns(vms, "dns"), ips(vms, "ip"),
        ip6s(vms, "ip6"), macs(vms, "mac");
    for (std::size_t i = 0; i < vms.size(); ++i) {
        const vm_spec& vm = vms[i];
        names.claim(vm.name, i);
        uuids.claim(vm.uuid, i);
        for (const auto& n : vm.dns_names) dns.claim(n, i);
        if (vm.ip) ips.claim(vm.ip->to_string(), i);
        if (vm.ip6) ip6s.claim(vm.ip6->to_string(), i);
        macs.claim(vm.mac.to_string(), i);
    }
}

}  // namespace jitsu::dns
