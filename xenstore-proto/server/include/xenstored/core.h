// The server's shared state, without sockets: the store, the watch registry, domains,
// quotas, the sessions, and the optional persistence hook. One per server; the
// request handler and every session work against it. Single-threaded.
//
// Requests are handled in batches (all complete requests of one read). end_batch()
// first persists what the batch changed, then tells every session with new output
// to write it: nothing a batch did is visible to any client before it is persisted.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "xenstored/domains.h"
#include "xenstored/quota.h"
#include "xenstored/store.h"
#include "xenstored/tree_view.h"
#include "xenstored/watch.h"

namespace jitsu::xenstored {

class session;

// Where committed changes go before any reply leaves (persist.h's journal).
class persistence {
public:
    // Records every path `s` marked changed; false on an I/O error.
    virtual bool commit(store& s) = 0;

protected:
    ~persistence() = default;
};

struct core_stats {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::uint64_t watch_events = 0;
    std::uint64_t transactions_committed = 0;
    std::uint64_t transactions_conflicted = 0;
};

class core final : public change_listener {
public:
    explicit core(quota_config quotas = {});
    core(quota_config quotas, store initial);
    ~core();
    core(const core&) = delete;
    core& operator=(const core&) = delete;

    store& tree() { return store_; }
    const store& tree() const { return store_; }
    watch_registry& watches() { return watches_; }
    domain_registry& domains() { return domains_; }
    quota_config& quotas() { return quotas_; }
    const quota_config& quotas() const { return quotas_; }
    core_stats& stats() { return stats_; }

    // Turns change tracking on and routes every batch's changes to `p` (nullptr: none).
    void set_persistence(persistence* p);

    // Sessions register themselves (session's constructor/destructor).
    std::uint64_t add_session(session& s);
    void remove_session(session& s);
    const std::vector<session*>& sessions() const { return sessions_; }
    void output_pending(session& s);

    // Persists the batch's changes, then hands new output to the sessions' listeners.
    // false: persisting failed; nothing was handed out (the server must stop).
    bool end_batch();

    // change_listener: fires the watches a committed change concerns.
    void node_changed(std::string_view path, bool exact, const perm_list* node_perms,
                      const perm_list* old_perms) override;
    // Fires @introduceDomain / @releaseDomain.
    void fire_special(std::string_view name);

    // Log every request (spdlog debug) — -v, or XS_CONTROL "log on".
    bool trace_requests() const { return trace_; }
    void set_trace_requests(bool on) { trace_ = on; }

private:
    bool watch_permitted(const session& s, std::string_view path, const perm_list* node_perms,
                         const perm_list* old_perms) const;

    quota_config quotas_;
    store store_;
    watch_registry watches_;
    domain_registry domains_;
    core_stats stats_;
    persistence* persistence_ = nullptr;
    std::vector<session*> sessions_;
    std::vector<session*> pending_output_;
    std::uint64_t next_session_id_ = 1;
    bool trace_ = false;
};

}  // namespace jitsu::xenstored
