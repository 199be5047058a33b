// One client's state, independent of any socket: who it acts as, its watches and open
// transactions, and its output (replies and watch events) waiting to be written.
//
// Output is appended to one reusable byte buffer; the connection swaps it out to
// write it, so a steady stream of requests allocates nothing. Replies queued or being
// written count as "outstanding" (the connection stops reading at the quota). Output
// beyond the output limit marks the session overflowed: the connection then drops it.
// For an unprivileged domain the output limit, like the watch and transaction quotas,
// binds the total over all its sessions (core's domain_usage); when it is exceeded the
// domain's session with the most output queued is the one dropped. dom0's sessions are
// limited one by one.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "xenstore/wire.h"
#include "xenstored/permissions.h"
#include "xenstored/transaction.h"
#include "xenstored/watch.h"

namespace jitsu::xenstored {

class core;
struct domain_usage;

// Told when a session has output to write (at the end of a batch of requests).
class output_listener {
  public:
    virtual void output_ready() = 0;

  protected:
    ~output_listener() = default;
};

class session {
  public:
    session(core& c, std::uint32_t domid);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    std::uint64_t id() const { return id_; }
    const caller& who() const { return who_; }
    std::uint32_t domid() const { return who_.domid; }
    bool privileged() const { return who_.privileged; }
    // "/local/domain/<domid>": where relative paths resolve.
    const std::string& implicit_path() const { return implicit_path_; }

    // --- output
    // A reply to `req` (its req_id and tx_id echoed) made of `parts` concatenated. A
    // payload over XENSTORE_PAYLOAD_MAX is replaced by an E2BIG error, as xenstored does.
    void reply(const xenstore::header& req, std::uint32_t type,
               std::initializer_list<std::string_view> parts);
    void reply(const xenstore::header& req, std::uint32_t type, std::string_view payload) {
        reply(req, type, {payload});
    }
    void reply_ok(const xenstore::header& req, std::uint32_t type) {
        reply(req, type, {"OK", {"\0", 1}});
    }
    void reply_error(const xenstore::header& req, int err);
    // Queues a watch event, unless an identical one is still queued (not for '@' paths).
    void send_event(std::string_view path, std::string_view token);

    bool has_output() const { return !outbox_.empty(); }
    // Bytes queued or being written.
    std::size_t queued_bytes() const { return outbox_.size() + inflight_bytes_; }
    // Whether queued_bytes() counts in the domain's output total (unprivileged, open, not
    // overflowed).
    bool output_counted() const { return !who_.privileged && !closed_ && !overflowed_; }
    // Marks the session overflowed (its output is dropped, the connection closes it).
    void overflow();
    // Drops the output queued by the current request (core::end_request, on failure).
    void undo_request_output();
    std::size_t outstanding() const { return outbox_replies_ + inflight_replies_; }
    bool overflowed() const { return overflowed_; }
    bool closed() const { return closed_; }
    // Moves the queued output into `out` (swapped, so both keep their capacity) and
    // counts it as in flight until output_written().
    void take_output(std::vector<std::uint8_t>& out);
    void output_written();
    void set_listener(output_listener* l) { listener_ = l; }
    output_listener* listener() const { return listener_; }

    // Drops watches and transactions and ignores further output (connection gone).
    void close();

    // --- watches (owned here, indexed by core's registry)
    const std::vector<std::unique_ptr<watch>>& watches() const { return watches_; }
    // At the watch quota: this connection's watches for dom0, the domain's for others.
    bool watch_quota_reached() const;
    watch& add_watch(std::string path, std::string token, std::size_t strip);
    bool remove_watch(std::string_view path, std::string_view token);
    void clear_watches();

    // --- transactions
    // At the transaction quota (per connection for dom0, per domain for others).
    bool transaction_quota_reached() const;
    transaction* find_transaction(std::uint32_t id);
    transaction& start_transaction();
    std::unique_ptr<transaction> end_transaction(std::uint32_t id);
    std::size_t transaction_count() const { return transactions_.size(); }
    void clear_transactions();

  private:
    void append_message(std::uint32_t type, std::uint32_t req_id, std::uint32_t tx_id,
                        std::initializer_list<std::string_view> parts, std::size_t len);
    void note_output();
    void uncount_output(std::size_t bytes);

    core& core_;
    std::uint64_t id_;
    caller who_;
    std::string implicit_path_;
    domain_usage* usage_;  // core's, for this session's domain

    std::vector<std::uint8_t> outbox_;
    std::size_t outbox_replies_ = 0;
    std::size_t inflight_replies_ = 0;
    std::size_t inflight_bytes_ = 0;
    std::unordered_set<std::string> queued_events_;
    bool overflowed_ = false;
    bool closed_ = false;
    bool output_noted_ = false;
    output_listener* listener_ = nullptr;
    // The output state before the current request's first output (see core).
    struct output_mark {
        std::size_t outbox_bytes = 0;
        std::size_t outbox_replies = 0;
    };
    std::optional<output_mark> request_mark_;

    std::vector<std::unique_ptr<watch>> watches_;
    std::map<std::uint32_t, std::unique_ptr<transaction>> transactions_;
    std::uint32_t next_transaction_id_ = 1;

    friend class core;
};

}  // namespace jitsu::xenstored
