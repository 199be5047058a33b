// XS_TRANSACTION_START, XS_TRANSACTION_END.
#include <cerrno>
#include <string>

#include "handlers.h"

namespace jitsu::xenstored::detail {

int do_transaction_start(request_context& r) {
    if (r.tx != nullptr) return EBUSY;  // no nesting
    if (r.s.transaction_quota_reached()) {
        ++r.state.stats().transaction_quota_refusals;
        return ENOSPC;
    }
    transaction& t = r.s.start_transaction();
    const std::string id = std::to_string(t.id());
    r.reply_parts({id, {"\0", 1}});
    return 0;
}

int do_transaction_end(request_context& r) {
    auto arg = r.one_arg();
    if (!arg || (*arg != "T" && *arg != "F")) return EINVAL;
    if (r.tx == nullptr) return ENOENT;
    // The transaction ends here whatever the outcome.
    auto t = r.s.end_transaction(r.tx->id());
    r.tx = nullptr;
    if (*arg == "F") {
        r.reply_ok();
        return 0;
    }

    store& tree = r.state.tree();
    // As xenstored: the node quota first, then conflicts.
    if (!r.s.privileged() && t->created_nodes()) {
        const auto limit = static_cast<std::int64_t>(r.state.quotas().nodes_per_domain);
        for (const auto& [domid, delta] : t->owned_deltas()) {
            if (domid == 0 || delta <= 0) continue;
            if (static_cast<std::int64_t>(tree.owned_nodes(domid)) + delta > limit) return ENOSPC;
        }
    }
    if (t->conflicts(tree)) {
        ++r.state.stats().transactions_conflicted;
        return EAGAIN;
    }
    t->apply(tree);
    ++r.state.stats().transactions_committed;
    for (const auto& e : t->entries()) {
        if (!e.fire) continue;
        r.state.node_changed(e.path, e.exact, nullptr,
                             e.original_perms ? &*e.original_perms : nullptr);
    }
    r.reply_ok();
    return 0;
}

}  // namespace jitsu::xenstored::detail
