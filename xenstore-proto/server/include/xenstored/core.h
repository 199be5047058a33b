// The server's shared state, without sockets: the store, the watch registry, domains,
// quotas, the sessions, and the optional persistence hook. One per server; the
// request handler and every session work against it. Single-threaded.
//
// Every request is handled between begin_request() and end_request(): end_request()
// persists what the request changed; if that fails (a full disk, an I/O error), the
// request is undone — its changes to the store, and every reply and watch event it
// queued on any session — and it gets the error instead: the store in memory stays what
// the file holds, and the server goes on. Requests are handled in batches (all complete
// requests of one read); end_batch() tells every session with new output to write it:
// nothing a request did is visible to any client before it is persisted.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
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
    // Records every path `s` marked changed. 0, or the Xenstore errno to reply with
    // (ENOSPC, EIO) when that failed: then the file holds none of it.
    virtual int commit(store& s) = 0;
    // For XS_CONTROL "stats": records written, failed appends, compactions done/failed.
    struct counters {
        std::uint64_t records = 0;
        std::uint64_t write_failures = 0;
        std::uint64_t compactions = 0;
        std::uint64_t compaction_failures = 0;
    };
    virtual counters stats() const = 0;

  protected:
    ~persistence() = default;
};

// What all the connections of one domain hold together. For unprivileged domains the
// watch, transaction and output quotas bind these totals, as xenstored counts them per
// domain: more connections never mean more quota.
struct domain_usage {
    std::uint32_t sessions = 0;
    std::uint32_t watches = 0;
    std::uint32_t transactions = 0;
    std::uint64_t output_bytes = 0;  // replies and events queued or being written
};

struct core_stats {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::uint64_t watch_events = 0;
    std::uint64_t transactions_committed = 0;
    std::uint64_t transactions_conflicted = 0;
    // Requests undone and refused because persisting their changes failed.
    std::uint64_t persist_failures = 0;
    // Unprivileged requests refused at their domain's watch / transaction quota.
    std::uint64_t watch_quota_refusals = 0;
    std::uint64_t transaction_quota_refusals = 0;
    // Connections dropped for output left unread beyond the output limit.
    std::uint64_t output_overflows = 0;
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
    const persistence* persisted_to() const { return persistence_; }

    // Sessions register themselves (session's constructor/destructor), and with them
    // their domain's usage (kept while the domain has sessions).
    std::uint64_t add_session(session& s);
    void remove_session(session& s);
    domain_usage& attach_domain(std::uint32_t domid);
    void detach_domain(std::uint32_t domid);
    // nullptr: no session of that domain.
    const domain_usage* usage(std::uint32_t domid) const;
    // An unprivileged domain's output is over the limit: its sessions with the most
    // queued are marked overflowed (to be dropped) until it is not.
    void output_over_limit(std::uint32_t domid);
    const std::vector<session*>& sessions() const { return sessions_; }
    void output_pending(session& s);

    // Around each request (request_handler::handle). end_request() returns 0, or the
    // errno persisting failed with, after undoing the request (see above).
    void begin_request();
    int end_request();
    // Sessions note their first output of a request here (undone with the request).
    bool recording_request() const { return in_request_ && persistence_ != nullptr; }
    void note_request_output(session& s);

    // Hands the batch's new output to the sessions' listeners.
    void end_batch();

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
    bool in_request_ = false;
    std::vector<session*> request_output_;    // sessions with output from this request
    std::uint64_t request_watch_events_ = 0;  // stats before this request
    std::uint64_t request_commits_ = 0;
    std::unordered_map<std::uint32_t, domain_usage> domains_usage_;
    std::uint64_t next_session_id_ = 1;
    bool trace_ = false;
};

}  // namespace jitsu::xenstored
