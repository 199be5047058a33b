// Domains without rings: which domains have been introduced (XS_INTRODUCE, until
// XS_RELEASE), and the permissions of the special watch paths @introduceDomain and
// @releaseDomain (default "n0": only dom0 sees their events; XS_SET_PERMS may change
// them, as in xenstored).
#pragma once

#include <cstdint>
#include <set>
#include <string_view>

#include "xenstored/node.h"

namespace jitsu::xenstored {

inline constexpr std::string_view introduce_domain_path = "@introduceDomain";
inline constexpr std::string_view release_domain_path = "@releaseDomain";
// XS_IS_DOMAIN_INTRODUCED answers "T" for DOMID_SELF.
inline constexpr std::uint32_t domid_self = 0x7FF0;

class domain_registry {
  public:
    domain_registry();

    // True if the domain was not introduced before.
    bool introduce(std::uint32_t domid);
    // True if the domain was introduced (and now is not).
    bool release(std::uint32_t domid);
    bool is_introduced(std::uint32_t domid) const;
    const std::set<std::uint32_t>& introduced() const { return introduced_; }

    // Permissions of a special path, or nullptr if `name` is not one.
    perm_list* special_perms(std::string_view name);
    const perm_list* special_perms(std::string_view name) const;

  private:
    std::set<std::uint32_t> introduced_{0};
    perm_list introduce_perms_;
    perm_list release_perms_;
};

}  // namespace jitsu::xenstored
