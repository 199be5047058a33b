// Who may do what to a node: xenstored's perm_for_conn.
//
// dom0 (and any privileged caller) and the node's owner (entry 0) get everything.
// Another domain gets the letter of its own entry (the first one after entry 0 naming
// it), or else entry 0's letter: n(one), r(ead), w(rite), b(oth).
#pragma once

#include <cstdint>

#include "xenstored/node.h"

namespace jitsu::xenstored {

// Access bits, as xenstored's XS_PERM_*.
enum perm_bits : unsigned {
    perm_none = 0,
    perm_read = 1,
    perm_write = 2,
    perm_owner = 4,
};

// The identity a request acts with.
struct caller {
    std::uint32_t domid = 0;
    bool privileged = true;
};

// The access bits of a letter (n/r/w/b).
unsigned access_bits(access a);

// The bits `who` has on a node with `perms`.
unsigned perm_for(const caller& who, const perm_list& perms);

// Convenience: does `who` have every bit of `wanted`?
inline bool allowed(const caller& who, const perm_list& perms, unsigned wanted) {
    return (perm_for(who, perms) & wanted) == wanted;
}

}  // namespace jitsu::xenstored
