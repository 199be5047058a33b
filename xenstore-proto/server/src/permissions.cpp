#include "xenstored/permissions.h"

namespace jitsu::xenstored {

unsigned access_bits(access a) {
    switch (a) {
        case access::none:
            return perm_none;
        case access::read:
            return perm_read;
        case access::write:
            return perm_write;
        case access::both:
            return perm_read | perm_write;
    }
    return perm_none;
}

unsigned perm_for(const caller& who, const perm_list& perms) {
    constexpr unsigned all = perm_read | perm_write | perm_owner;
    if (who.privileged) return all;
    if (perms.empty()) return perm_none;
    if (perms.front().domid == who.domid) return all;
    for (std::size_t i = 1; i < perms.size(); ++i) {
        if (perms[i].domid == who.domid) return access_bits(perms[i].perm);
    }
    return access_bits(perms.front().perm);
}

}  // namespace jitsu::xenstored
