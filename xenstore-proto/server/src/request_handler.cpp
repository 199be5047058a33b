#include "xenstored/request_handler.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "handlers.h"
#include "xenstored/path.h"

namespace jitsu::xenstored {

namespace detail {

std::optional<std::string_view> request_context::one_arg() const {
    if (payload.empty() || payload.find('\0') != payload.size() - 1) return std::nullopt;
    return payload.substr(0, payload.size() - 1);
}

std::size_t request_context::count_strings() const {
    std::size_t n = 0;
    for (char c : payload) n += c == '\0' ? 1 : 0;
    return n;
}

int request_context::node_path(std::string_view name, std::string_view& out) {
    out = canonicalize(s.implicit_path(), name, scratch);
    return is_valid_path(out, state.quotas().path_max) ? 0 : EINVAL;
}

tree_view request_context::view() {
    const std::size_t limit = s.privileged() ? 0 : state.quotas().transaction_nodes;
    return tree_view(state.tree(), tx, state, limit);
}

long long parse_atoi(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    long long v = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        if (v < (1LL << 40)) v = v * 10 + (s[i] - '0');
    }
    return negative ? -v : v;
}

namespace {

enum flags : unsigned {
    flag_none = 0,
    flag_no_tx = 1,       // ignores the transaction id (XS_FLAG_NOTID)
    flag_privileged = 2,  // dom0 only (XS_FLAG_PRIV)
};

struct handler_entry {
    handler_fn fn = nullptr;
    unsigned flags = flag_none;
};

constexpr std::array<handler_entry, XS_TYPE_COUNT> handlers = [] {
    std::array<handler_entry, XS_TYPE_COUNT> t{};
    t[XS_CONTROL] = {do_control, flag_privileged};
    t[XS_DIRECTORY] = {do_directory, flag_none};
    t[XS_READ] = {do_read, flag_none};
    t[XS_GET_PERMS] = {do_get_perms, flag_none};
    t[XS_WATCH] = {do_watch, flag_no_tx};
    t[XS_UNWATCH] = {do_unwatch, flag_no_tx};
    t[XS_TRANSACTION_START] = {do_transaction_start, flag_none};
    t[XS_TRANSACTION_END] = {do_transaction_end, flag_none};
    t[XS_INTRODUCE] = {do_introduce, flag_privileged};
    t[XS_RELEASE] = {do_release, flag_privileged};
    t[XS_GET_DOMAIN_PATH] = {do_get_domain_path, flag_none};
    t[XS_WRITE] = {do_write, flag_none};
    t[XS_MKDIR] = {do_mkdir, flag_none};
    t[XS_RM] = {do_rm, flag_none};
    t[XS_SET_PERMS] = {do_set_perms, flag_none};
    t[XS_IS_DOMAIN_INTRODUCED] = {do_is_domain_introduced, flag_privileged};
    t[XS_RESUME] = {do_resume, flag_privileged};
    t[XS_SET_TARGET] = {do_set_target, flag_privileged};
    t[XS_RESET_WATCHES] = {do_reset_watches, flag_none};
    t[XS_DIRECTORY_PART] = {do_directory_part, flag_none};
    return t;
}();

std::string printable(std::string_view payload) {
    std::string out;
    for (char c : payload.substr(0, 120))
        out.push_back(c == '\0' ? ' ' : (c < 32 || c > 126 ? '.' : c));
    if (payload.size() > 120) out += "...";
    return out;
}

}  // namespace

}  // namespace detail

void request_handler::handle(session& s, const xenstore::header& hdr,
                             std::span<const std::uint8_t> payload) {
    using namespace detail;
    ++core_.stats().requests;
    const std::string_view body(reinterpret_cast<const char*>(payload.data()), payload.size());
    if (core_.trace_requests()) {
        spdlog::debug("session {} dom{} -> {} req {} tx {}: {}", s.id(), s.domid(),
                      xenstore::type_name(hdr.type), hdr.req_id, hdr.tx_id, printable(body));
    }

    core_.begin_request();
    int err = 0;
    const handler_entry* entry = hdr.type < handlers.size() ? &handlers[hdr.type] : nullptr;
    if (entry == nullptr || entry->fn == nullptr) {
        err = ENOSYS;
    } else if ((entry->flags & flag_privileged) != 0 && !s.privileged()) {
        err = EACCES;
    } else {
        transaction* tx = nullptr;
        if ((entry->flags & flag_no_tx) == 0 && hdr.tx_id != 0) {
            tx = s.find_transaction(hdr.tx_id);
            if (tx == nullptr) err = ENOENT;
        }
        if (err == 0) {
            request_context r{core_, s, hdr, body, tx, scratch_};
            err = entry->fn(r);
        }
    }
    if (err != 0) s.reply_error(hdr, err);
    // Persisting the request's changes failed: the request is undone, replies included.
    if (int persist_err = core_.end_request(); persist_err != 0) {
        err = persist_err;
        s.reply_error(hdr, err);
    }
    if (core_.trace_requests() && err != 0) {
        spdlog::debug("session {} <- {} req {}: {}", s.id(), xenstore::type_name(hdr.type),
                      hdr.req_id, xenstore::error_name(err));
    }
}

}  // namespace jitsu::xenstored
