#include "xenstored/tree_ops.h"

#include <cerrno>
#include <string>
#include <vector>

#include "xenstored/path.h"

namespace jitsu::xenstored {

namespace {

// The bits `who` has on the nearest existing ancestor of `path` (errno_from_parents).
int ancestor_perm(op_context& ctx, std::string_view path, unsigned& bits) {
    std::string_view p = path;
    const node* n = nullptr;
    while (p != root_path) {
        p = parent_of(p);
        int err = 0;
        n = ctx.view.get(p, err);
        if (err != 0) return err;
        if (n != nullptr) break;
    }
    bits = n == nullptr ? perm_none : perm_for(ctx.who, n->perms);
    return 0;
}

// Creates `path` and its missing ancestors with `value` at the leaf.
int create_node(op_context& ctx, std::string_view path, std::string_view value) {
    // Walk up to the nearest existing ancestor; `missing` runs leaf first.
    std::vector<std::string_view> missing;
    std::string_view p = path;
    const node* ancestor = nullptr;
    for (;;) {
        missing.push_back(p);
        std::string_view parent = parent_of(p);
        int err = 0;
        ancestor = ctx.view.get(parent, err);
        if (err != 0) return err;
        if (ancestor != nullptr) {
            p = parent;
            break;
        }
        if (parent == root_path) return ENOENT;  // no root: cannot happen in a sane tree
        p = parent;
    }
    const std::string_view ancestor_path = p;

    perm_list perms = ancestor->perms;
    if (!ctx.who.privileged) {
        perms.front().domid = ctx.who.domid;
        // Node quota: the creator will own every new node.
        if (ctx.view.owned_nodes(ctx.who.domid) + static_cast<std::int64_t>(missing.size()) >
            static_cast<std::int64_t>(ctx.quotas.nodes_per_domain)) {
            return ENOSPC;
        }
        // Node-size quota for every node written: the leaf, the new intermediate nodes
        // (one child each) and the existing ancestor with one child more.
        const auto limit = ctx.quotas.node_size;
        if (node_size(value.size(), perms.size(), 0) >= limit) return ENOSPC;
        for (std::size_t i = 1; i < missing.size(); ++i) {
            if (node_size(0, perms.size(), basename_of(missing[i - 1]).size() + 1) >= limit) {
                return ENOSPC;
            }
        }
        if (node_size(ancestor->value.size(), ancestor->perms.size(),
                      ancestor->children.size() + basename_of(missing.back()).size() + 1) >=
            limit) {
            return ENOSPC;
        }
    }

    // Everything checked: change the tree, top down.
    node* top = ctx.view.modify(ancestor_path);
    add_child(top->children, basename_of(missing.back()));
    for (std::size_t i = missing.size(); i-- > 0;) {
        node n;
        n.perms = perms;
        if (i == 0) {
            n.value.assign(value);
        } else {
            add_child(n.children, basename_of(missing[i - 1]));
        }
        ctx.view.create(missing[i], std::move(n));
    }
    return 0;
}

}  // namespace

int get_node(op_context& ctx, std::string_view path, unsigned perm, const node*& out) {
    out = nullptr;
    int err = 0;
    const node* n = ctx.view.get(path, err);
    if (err != 0) return err;
    int result = ENOENT;
    if (n != nullptr) {
        if ((perm_for(ctx.who, n->perms) & perm) == perm) {
            out = n;
            return 0;
        }
        result = EACCES;
    }
    unsigned bits = perm_none;
    if (int e = ancestor_perm(ctx, path, bits); e != 0) return e;
    return (bits & perm) != 0 ? result : EACCES;
}

int write_node(op_context& ctx, std::string_view path, std::string_view value) {
    const node* existing = nullptr;
    int err = get_node(ctx, path, perm_write, existing);
    if (err == ENOENT) {
        err = create_node(ctx, path, value);
        if (err != 0) return err;
        ctx.view.changed(path, false, nullptr, nullptr);
        return 0;
    }
    if (err != 0) return err;
    if (!ctx.who.privileged && node_size(value.size(), existing->perms.size(),
                                         existing->children.size()) >= ctx.quotas.node_size) {
        return ENOSPC;
    }
    node* n = ctx.view.modify(path);
    n->value.assign(value);
    ctx.view.changed(path, false, &n->perms, nullptr);
    return 0;
}

int make_node(op_context& ctx, std::string_view path) {
    const node* existing = nullptr;
    int err = get_node(ctx, path, perm_write, existing);
    if (err == 0) return 0;
    if (err != ENOENT) return err;
    err = create_node(ctx, path, {});
    if (err != 0) return err;
    ctx.view.changed(path, false, nullptr, nullptr);
    return 0;
}

int remove_node(op_context& ctx, std::string_view path) {
    const node* target = nullptr;
    int err = get_node(ctx, path, perm_write, target);
    const std::string_view parent_path = parent_of(path);
    if (err == ENOENT) {
        // Not there: fine if the parent is.
        int e = 0;
        const node* parent = ctx.view.get(parent_path, e);
        if (e != 0) return e;
        return parent != nullptr ? 0 : ENOENT;
    }
    if (err != 0) return err;
    if (path == root_path) return EINVAL;
    {
        int e = 0;
        if (ctx.view.get(parent_path, e) == nullptr) return e != 0 ? e : EINVAL;
    }

    // Collect the subtree, children before parents (xenstored's walk order). Inside a
    // transaction this touches every node, which may hit the quota: before any change.
    std::vector<std::string> doomed;
    std::vector<std::pair<std::string, bool>> stack;  // path, children already pushed
    stack.emplace_back(std::string(path), false);
    while (!stack.empty()) {
        auto& top = stack.back();
        std::string& p = top.first;
        if (top.second) {  // children done: this one goes now
            doomed.push_back(std::move(p));
            stack.pop_back();
            continue;
        }
        top.second = true;
        int e = 0;
        const node* n = ctx.view.get(p, e);
        if (e != 0) return e;
        if (n == nullptr) {  // listed but absent: nothing to remove there
            stack.pop_back();
            continue;
        }
        std::vector<std::string> kids;
        for_each_child(n->children, [&](std::string_view c) { kids.push_back(child_path(p, c)); });
        // Push in reverse so children are visited in their listed order.
        for (auto it = kids.rbegin(); it != kids.rend(); ++it)
            stack.emplace_back(std::move(*it), false);
    }

    for (const auto& p : doomed) {
        int e = 0;
        const node* n = ctx.view.get(p, e);
        if (n == nullptr) continue;
        // Fire while the node (and its permissions) can still be seen.
        ctx.view.changed(p, p != path, &n->perms, nullptr);
        ctx.view.remove(p);
    }
    node* parent = ctx.view.modify(parent_path);
    remove_child(parent->children, basename_of(path));
    return 0;
}

int set_node_perms(op_context& ctx, std::string_view path, const perm_list& perms) {
    const node* existing = nullptr;
    int err = get_node(ctx, path, perm_write | perm_owner, existing);
    if (err != 0) return err;
    if (!ctx.who.privileged) {
        if (perms.front().domid != existing->perms.front().domid) return EPERM;
        if (node_size(existing->value.size(), perms.size(), existing->children.size()) >=
            ctx.quotas.node_size) {
            return ENOSPC;
        }
    }
    perm_list old = existing->perms;
    node* n = ctx.view.modify(path);
    n->perms = perms;
    ctx.view.owner_changed(old.front().domid, perms.front().domid);
    ctx.view.changed(path, false, &n->perms, &old);
    return 0;
}

}  // namespace jitsu::xenstored
