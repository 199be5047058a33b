#include "xenstored/domains.h"

namespace jitsu::xenstored {

domain_registry::domain_registry()
    : introduce_perms_{permission{access::none, 0}}, release_perms_{permission{access::none, 0}} {}

bool domain_registry::introduce(std::uint32_t domid) { return introduced_.insert(domid).second; }

bool domain_registry::release(std::uint32_t domid) { return introduced_.erase(domid) != 0; }

bool domain_registry::is_introduced(std::uint32_t domid) const {
    return introduced_.count(domid) != 0;
}

perm_list* domain_registry::special_perms(std::string_view name) {
    if (name == introduce_domain_path) return &introduce_perms_;
    if (name == release_domain_path) return &release_perms_;
    return nullptr;
}

const perm_list* domain_registry::special_perms(std::string_view name) const {
    return const_cast<domain_registry*>(this)->special_perms(name);
}

}  // namespace jitsu::xenstored
