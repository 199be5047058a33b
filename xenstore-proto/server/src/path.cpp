#include "xenstored/path.h"

#include "xenstore/wire.h"

namespace jitsu::xenstored {

namespace {

constexpr bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '/' || c == '_' || c == '@';
}

}  // namespace

bool valid_chars(std::string_view path) {
    for (char c : path) {
        if (!is_name_char(c)) return false;
    }
    return true;
}

std::size_t local_domain_prefix(std::string_view path) {
    constexpr std::string_view prefix = "/local/domain/";
    if (!path.starts_with(prefix)) return 0;
    std::size_t i = prefix.size();
    std::size_t digits = 0;
    while (i < path.size() && digits < 5 && path[i] >= '0' && path[i] <= '9') {
        ++i;
        ++digits;
    }
    if (digits == 0 || i >= path.size() || path[i] != '/') return 0;
    return i + 1;
}

bool is_valid_path(std::string_view path, std::size_t path_max) {
    if (path.empty() || path.front() != '/') return false;
    if (path.size() > 1 && path.back() == '/') return false;
    if (path.find("//") != std::string_view::npos) return false;
    if (path.size() > xenstore::abs_path_max) return false;
    if (path.size() > local_domain_prefix(path) + path_max) return false;
    return valid_chars(path);
}

std::string_view canonicalize(std::string_view implicit_path, std::string_view name,
                              std::string& scratch) {
    if (!name.empty() && (name.front() == '/' || name.front() == '@')) return name;
    scratch.assign(implicit_path);
    scratch.push_back('/');
    scratch.append(name);
    return scratch;
}

std::string_view parent_of(std::string_view path) {
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos || slash == 0) return root_path;
    return path.substr(0, slash);
}

std::string_view basename_of(std::string_view path) {
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos) return path;
    return path.substr(slash + 1);
}

bool is_same_or_below(std::string_view path, std::string_view ancestor) {
    if (ancestor == root_path) return true;
    if (!path.starts_with(ancestor)) return false;
    return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

std::string child_path(std::string_view parent, std::string_view child) {
    std::string out;
    out.reserve(parent.size() + 1 + child.size());
    if (parent != root_path) out.append(parent);
    out.push_back('/');
    out.append(child);
    return out;
}

std::string domain_path(std::uint32_t domid) { return "/local/domain/" + std::to_string(domid); }

}  // namespace jitsu::xenstored
