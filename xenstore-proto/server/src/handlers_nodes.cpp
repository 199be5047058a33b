// XS_READ, XS_WRITE, XS_MKDIR, XS_RM, XS_DIRECTORY, XS_DIRECTORY_PART, XS_GET_PERMS,
// XS_SET_PERMS.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "handlers.h"
#include "xenstored/permissions.h"

namespace jitsu::xenstored::detail {

namespace {

constexpr std::string_view nul{"\0", 1};

// Resolves `name` (relative paths under the session's domain) and runs one tree operation
// `op(op_context&, path)` on the request's view: the committed tree or its transaction.
// The path may live in the scratch buffer, which no tree operation reuses.
template <class Op>
int on_node(request_context& r, std::string_view name, Op&& op) {
    std::string_view path;
    if (int err = r.node_path(name, path); err != 0) return err;
    auto view = r.view();
    op_context ctx{view, r.s.who(), r.state.quotas()};
    return op(ctx, path);
}

// Resolves the request's single argument to a node the session may access with `perm`.
int one_node(request_context& r, unsigned perm, const node*& out) {
    auto name = r.one_arg();
    if (!name) return EINVAL;
    return on_node(r, *name, [&](op_context& ctx, std::string_view path) {
        return get_node(ctx, path, perm, out);
    });
}

// A request whose single argument names the node `op` changes; OK reply on success.
template <class Op>
int change_one_node(request_context& r, Op&& op) {
    auto name = r.one_arg();
    if (!name) return EINVAL;
    if (int err = on_node(r, *name, op); err != 0) return err;
    r.reply_ok();
    return 0;
}

}  // namespace

int do_read(request_context& r) {
    const node* n = nullptr;
    if (int err = one_node(r, perm_read, n); err != 0) return err;
    r.reply(n->value);
    return 0;
}

int do_directory(request_context& r) {
    const node* n = nullptr;
    if (int err = one_node(r, perm_read, n); err != 0) return err;
    r.reply(n->children);
    return 0;
}

int do_get_perms(request_context& r) {
    const node* n = nullptr;
    if (int err = one_node(r, perm_read, n); err != 0) return err;
    std::string out;
    for (const auto& p : n->perms) {
        out += xenstore::format_permission(p);
        out.push_back('\0');
    }
    r.reply(out);
    return 0;
}

int do_write(request_context& r) {
    // path NUL value: the value is everything after the first NUL (it may hold NULs).
    auto nul_at = r.payload.find('\0');
    if (nul_at == std::string_view::npos) return EINVAL;
    const std::string_view value = r.payload.substr(nul_at + 1);
    auto write = [&](op_context& ctx, std::string_view path) {
        return write_node(ctx, path, value);
    };
    if (int err = on_node(r, r.payload.substr(0, nul_at), write); err != 0) return err;
    r.reply_ok();
    return 0;
}

int do_mkdir(request_context& r) {
    return change_one_node(
        r, [](op_context& ctx, std::string_view path) { return make_node(ctx, path); });
}

int do_rm(request_context& r) {
    return change_one_node(
        r, [](op_context& ctx, std::string_view path) { return remove_node(ctx, path); });
}

int do_directory_part(request_context& r) {
    // path NUL offset NUL: the children list from byte `offset` on, as much as fits,
    // preceded by the node's generation; an empty string marks the end of the list.
    if (r.count_strings() != 2) return EINVAL;
    auto first_nul = r.payload.find('\0');
    std::string_view name = r.payload.substr(0, first_nul);
    std::string_view offset_arg = r.payload.substr(first_nul + 1);
    const node* n = nullptr;
    auto get = [&](op_context& ctx, std::string_view path) {
        return get_node(ctx, path, perm_read, n);
    };
    if (int err = on_node(r, name, get); err != 0) return err;

    const auto off = static_cast<std::uint32_t>(parse_atoi(offset_arg));
    const std::string gen = std::to_string(n->generation);
    const std::string_view children = n->children;
    if (off >= children.size()) {
        r.reply_parts({gen, nul, nul});
        return 0;
    }
    const std::size_t genlen = gen.size() + 1;
    const std::size_t maxlen = xenstore::payload_max - genlen - 1;
    std::size_t len = 0;
    for (;;) {
        const std::size_t pos = off + len;
        const std::size_t child = ::strnlen(children.data() + pos, children.size() - pos);
        if (len + child >= maxlen) break;
        len += child + 1;
        if (off + len >= children.size()) break;
    }
    len = std::min<std::size_t>(len, children.size() - off);
    const bool last = off + len == children.size();
    r.reply_parts({gen, nul, children.substr(off, len), last ? nul : std::string_view{}});
    return 0;
}

int do_set_perms(request_context& r) {
    // path NUL perm NUL perm NUL ...: at least one permission.
    const std::size_t strings = r.count_strings();
    if (strings < 2) return EINVAL;
    const std::size_t count = strings - 1;
    const auto& quotas = r.state.quotas();
    if (!r.s.privileged() && count > quotas.perms_per_node) return ENOSPC;

    xenstore::payload_reader reader(r.payload);
    const std::string_view name = *reader.next_string();
    perm_list perms;
    perms.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        auto p = xenstore::parse_permission(*reader.next_string());
        if (!p) return EINVAL;
        perms.push_back(*p);
    }

    if (!name.empty() && name.front() == '@') {
        perm_list* special = r.state.domains().special_perms(name);
        if (special == nullptr) return EINVAL;
        if (!allowed(r.s.who(), *special, perm_write | perm_owner)) return EACCES;
        *special = std::move(perms);
        r.reply_ok();
        return 0;
    }

    auto set = [&](op_context& ctx, std::string_view path) {
        return set_node_perms(ctx, path, perms);
    };
    if (int err = on_node(r, name, set); err != 0) return err;
    r.reply_ok();
    return 0;
}

}  // namespace jitsu::xenstored::detail
