#include "xenstored/node.h"

namespace jitsu::xenstored {

std::size_t node_size(std::size_t value_size, std::size_t perm_count, std::size_t children_size) {
    // struct xs_tdb_record_hdr (u64 generation, 3 x u32, padded to 24) followed by
    // struct xs_permissions[] (8 bytes each), the value and the children.
    constexpr std::size_t header = 24;
    constexpr std::size_t per_permission = 8;
    return header + per_permission * perm_count + value_size + children_size;
}

void add_child(std::string& children, std::string_view name) {
    children.append(name);
    children.push_back('\0');
}

namespace {

std::size_t find_child(std::string_view children, std::string_view name) {
    std::size_t off = 0;
    while (off < children.size()) {
        auto nul = children.find('\0', off);
        if (nul == std::string_view::npos) nul = children.size();
        if (children.substr(off, nul - off) == name) return off;
        off = nul + 1;
    }
    return std::string_view::npos;
}

}  // namespace

bool remove_child(std::string& children, std::string_view name) {
    auto off = find_child(children, name);
    if (off == std::string_view::npos) return false;
    auto len = std::min(name.size() + 1, children.size() - off);
    children.erase(off, len);
    return true;
}

bool has_child(std::string_view children, std::string_view name) {
    return find_child(children, name) != std::string_view::npos;
}

}  // namespace jitsu::xenstored
