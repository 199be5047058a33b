// XS_WATCH, XS_UNWATCH, XS_RESET_WATCHES.
#include <cerrno>

#include "handlers.h"
#include "xenstored/path.h"

namespace jitsu::xenstored::detail {

namespace {

// path NUL token NUL: exactly two strings (bytes after the second NUL are ignored).
bool two_strings(const request_context& r, std::string_view& first, std::string_view& second) {
    if (r.count_strings() != 2) return false;
    xenstore::payload_reader reader(r.payload);
    first = *reader.next_string();
    second = *reader.next_string();
    return true;
}

}  // namespace

int do_watch(request_context& r) {
    std::string_view name, token;
    if (!two_strings(r, name, token)) return EINVAL;
    std::string_view path = name;
    bool relative = false;
    if (!name.empty() && name.front() == '@') {
        if (name.size() > xenstore::rel_path_max) return EINVAL;
    } else {
        relative = name.empty() || name.front() != '/';
        if (int err = r.node_path(name, path); err != 0) return err;
    }
    for (const auto& w : r.s.watches()) {
        if (w->path == path && w->token == token) return EEXIST;
    }
    if (r.s.watch_quota_reached()) {
        ++r.state.stats().watch_quota_refusals;
        return E2BIG;
    }

    watch& w = r.s.add_watch(std::string(path), std::string(token),
                             relative ? r.s.implicit_path().size() : 0);
    r.reply_ok();
    // The initial event, sent once up front as xenstored does.
    r.s.send_event(event_path(w, w.path), w.token);
    return 0;
}

int do_unwatch(request_context& r) {
    std::string_view name, token;
    if (!two_strings(r, name, token)) return EINVAL;
    std::string_view path = canonicalize(r.s.implicit_path(), name, r.scratch);
    if (!r.s.remove_watch(path, token)) return ENOENT;
    r.reply_ok();
    return 0;
}

int do_reset_watches(request_context& r) {
    r.s.clear_watches();
    r.s.clear_transactions();
    r.reply_ok();
    return 0;
}

}  // namespace jitsu::xenstored::detail
