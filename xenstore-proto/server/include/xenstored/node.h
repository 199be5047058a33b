// One Xenstore node: its value, permission list, children and generation count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xenstore/wire.h"

namespace jitsu::xenstored {

using xenstore::access;
using xenstore::permission;
using perm_list = std::vector<permission>;

// Generation of a node that does not exist (xenstored's NO_GENERATION).
inline constexpr std::uint64_t no_generation = ~std::uint64_t{0};

struct node {
    std::string value;
    // Never empty for a stored node. Entry 0 names the owner; its letter is the access
    // of every domain without an entry of its own.
    perm_list perms;
    // Child names, each followed by a NUL, in creation order: exactly the payload of a
    // DIRECTORY reply (xenstored keeps them the same way).
    std::string children;
    // Set from the store's global counter on every change to this node (value, perms or
    // children); transactions compare it to detect conflicts.
    std::uint64_t generation = 0;

    std::uint32_t owner() const { return perms.empty() ? 0 : perms.front().domid; }
};

// The size xenstored 4.17 stores for a node (record header, 8 bytes per permission,
// value, children), which its node-size quota ("entry-size") limits.
std::size_t node_size(std::size_t value_size, std::size_t perm_count, std::size_t children_size);
inline std::size_t node_size(const node& n) {
    return node_size(n.value.size(), n.perms.size(), n.children.size());
}

// Children list helpers.
void add_child(std::string& children, std::string_view name);
bool remove_child(std::string& children, std::string_view name);
bool has_child(std::string_view children, std::string_view name);

// Calls f(name) for every child, in order.
template <typename F>
void for_each_child(std::string_view children, F&& f) {
    while (!children.empty()) {
        auto nul = children.find('\0');
        if (nul == std::string_view::npos) {
            f(children);
            return;
        }
        f(children.substr(0, nul));
        children.remove_prefix(nul + 1);
    }
}

}  // namespace jitsu::xenstored
