// The node operations, written once against a tree_view (committed tree or a
// transaction), with xenstored's permission and quota rules. Each returns 0 or an
// errno, and either does all of its change or none of it: everything that can fail
// (lookups, permission, quotas) is checked before the first change.
#pragma once

#include <string_view>

#include "xenstored/node.h"
#include "xenstored/permissions.h"
#include "xenstored/quota.h"
#include "xenstored/tree_view.h"

namespace jitsu::xenstored {

struct op_context {
    tree_view& view;
    const caller& who;
    const quota_config& quotas;
};

// xenstored's get_node: the node if `who` has every bit of `perm` on it. Otherwise
// EACCES, or ENOENT when absent — but ENOENT only if the nearest existing ancestor
// grants some bit of `perm`, so that a node's absence does not leak (else EACCES).
int get_node(op_context& ctx, std::string_view path, unsigned perm, const node*& out);

// XS_WRITE: sets the value, creating the node and any missing ancestors. New nodes
// inherit the nearest existing ancestor's permissions; an unprivileged creator becomes
// their owner. Needs write access to the node or, when creating, to that ancestor.
int write_node(op_context& ctx, std::string_view path, std::string_view value);

// XS_MKDIR: as write with an empty value, but an existing node is left alone.
int make_node(op_context& ctx, std::string_view path);

// XS_RM: removes the node and everything below it. A missing node whose parent exists
// is fine; "/" is refused (EINVAL).
int remove_node(op_context& ctx, std::string_view path);

// XS_SET_PERMS on a node: needs ownership (or privilege); an unprivileged caller may
// not give the node away (EPERM).
int set_node_perms(op_context& ctx, std::string_view path, const perm_list& perms);

}  // namespace jitsu::xenstored
