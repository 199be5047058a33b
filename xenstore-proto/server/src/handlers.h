// Internal: what every request handler gets, and the handlers themselves (grouped by
// topic in handlers_*.cpp and control.cpp).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "xenstore/wire.h"
#include "xenstored/core.h"
#include "xenstored/session.h"
#include "xenstored/tree_ops.h"
#include "xenstored/tree_view.h"

namespace jitsu::xenstored::detail {

struct request_context {
    core& state;
    session& s;
    const xenstore::header& hdr;
    std::string_view payload;
    transaction* tx;
    std::string& scratch;

    // xenstored's onearg: the payload is exactly one NUL-terminated string.
    std::optional<std::string_view> one_arg() const;
    // Number of NUL-terminated strings in the payload (xs_count_strings).
    std::size_t count_strings() const;
    // Canonicalises a node name against this session and validates it (EINVAL).
    int node_path(std::string_view name, std::string_view& out);
    tree_view view();

    void reply(std::string_view payload) { s.reply(hdr, hdr.type, payload); }
    void reply_parts(std::initializer_list<std::string_view> parts) {
        s.reply(hdr, hdr.type, parts);
    }
    void reply_ok() { s.reply_ok(hdr, hdr.type); }
};

// C's atoi over a NUL-terminated view (leading blanks, sign, digits; 0 if none), as
// xenstored parses numbers.
long long parse_atoi(std::string_view s);

using handler_fn = int (*)(request_context&);

int do_read(request_context& r);
int do_write(request_context& r);
int do_mkdir(request_context& r);
int do_rm(request_context& r);
int do_directory(request_context& r);
int do_directory_part(request_context& r);
int do_get_perms(request_context& r);
int do_set_perms(request_context& r);

int do_watch(request_context& r);
int do_unwatch(request_context& r);
int do_reset_watches(request_context& r);

int do_transaction_start(request_context& r);
int do_transaction_end(request_context& r);

int do_get_domain_path(request_context& r);
int do_introduce(request_context& r);
int do_release(request_context& r);
int do_resume(request_context& r);
int do_set_target(request_context& r);
int do_is_domain_introduced(request_context& r);

int do_control(request_context& r);

}  // namespace jitsu::xenstored::detail
