// The client's engine: connection lifecycle, send queue, reply dispatch, watches.
// Internal to the library.
//
// Ownership: `client` holds a shared_ptr to the impl; every coroutine the impl runs
// (reader, writer, timeout sweep, reconnect) and every operation in progress holds one
// too, so the impl outlives the `client` object while anything is still pending.
// close() breaks every cycle: it completes the pending requests (their handlers are
// posted), closes the socket and cancels the timers.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "xenstore/client.h"

namespace jitsu::xenstore {

// The fate of one request: an error (transport, or the server's XS_ERROR) or the
// reply payload.
struct reply {
    std::error_code ec;
    std::string payload;
    std::uint64_t connection = 0;  // epoch of the connection that carried the reply
};

// One request ready to be queued: built eagerly, when the API function is called.
struct outgoing {
    std::uint32_t req_id = 0;
    std::uint32_t type = 0;
    std::vector<std::uint8_t> bytes;  // header + payload
    std::error_code ec;               // set if the request could not be built
};

namespace detail {

// A one-shot, type-erased completion handler (Boost 1.74 has no
// any_completion_handler). complete() posts the handler to its associated executor,
// so the waiting coroutine never resumes inside the reader.
template <class Value>
class completion {
  public:
    virtual ~completion() = default;
    virtual void complete(Value v) = 0;
};

template <class Value, class Handler>
class completion_for final : public completion<Value> {
  public:
    completion_for(Handler h, asio::any_io_executor fallback)
        : handler_(std::move(h)), fallback_(std::move(fallback)) {}
    void complete(Value v) override {
        auto ex = asio::get_associated_executor(handler_, fallback_);
        asio::post(ex, [h = std::move(handler_), v = std::move(v)]() mutable {
            std::move(h)(std::move(v));
        });
    }

  private:
    Handler handler_;
    asio::any_io_executor fallback_;
};

}  // namespace detail

class client_impl : public std::enable_shared_from_this<client_impl> {
  public:
    using self_ptr = std::shared_ptr<client_impl>;
    using clock = std::chrono::steady_clock;

    client_impl(asio::any_io_executor ex, client_options options);

    const client_options& options() const { return options_; }
    const asio::any_io_executor& executor() const { return ex_; }
    bool connected() const { return state_ == state::connected; }
    client_stats stats() const;
    void on_state(state_handler h) { state_handler_ = std::move(h); }
    void close();

    // Message construction: a fresh req_id and the transaction's id in the header.
    // Refuses (outgoing::ec) payloads over payload_max (E2BIG) and strings with a NUL
    // where one would break the framing (EINVAL).
    outgoing build(std::uint32_t type, tx_id tx, std::span<const std::string_view> strings,
                   std::optional<std::string_view> raw_tail = std::nullopt);
    outgoing build(std::uint32_t type, tx_id tx, std::initializer_list<std::string_view> strings,
                   std::optional<std::string_view> raw_tail = std::nullopt) {
        return build(type, tx, std::span<const std::string_view>(strings.begin(), strings.size()),
                     raw_tail);
    }

    static asio::awaitable<result<void>> connect(self_ptr self);

    // Queues one request and waits for its reply (or its failure).
    static asio::awaitable<reply> request(self_ptr self, outgoing msg, tx_id tx);
    // Queues all requests back-to-back and waits for every reply; replies in order.
    // Fails as a whole only when nothing could be queued (not connected, queue full).
    static asio::awaitable<result<std::vector<reply>>> request_many(self_ptr self,
                                                                    std::vector<outgoing> msgs,
                                                                    tx_id tx);

    // Transaction slots (client_options::max_transactions). acquire returns the epoch
    // of the connection the slot belongs to; a slot is held from transaction_start until
    // the matching transaction_end (or a reconnect, which frees them all).
    static asio::awaitable<result<std::uint64_t>> acquire_tx_slot(self_ptr self);
    void tx_started(tx_id tx);
    // Frees the slot of a failed start (id 0) or of an ended transaction.
    void release_tx_slot(tx_id tx);

    static asio::awaitable<result<void>> watch(self_ptr self, std::string path, std::string token,
                                               watch_handler handler);
    static asio::awaitable<result<void>> unwatch(self_ptr self, std::string path,
                                                 std::string token);

  private:
    enum class state { idle, connecting, connected, closed };

    // One socket and what runs on it. Replaced on every reconnect, so coroutines of an
    // old connection notice (conn != conn_) and stop.
    struct connection {
        explicit connection(const asio::any_io_executor& ex) : socket(ex), wake(ex), sweep(ex) {}
        asio::local::stream_protocol::socket socket;
        asio::steady_timer wake;   // the writer sleeps on it; cancel() wakes it
        asio::steady_timer sweep;  // request timeouts
        std::uint64_t epoch = 0;
    };
    using conn_ptr = std::shared_ptr<connection>;

    struct pending {
        std::uint32_t type = 0;
        std::function<void(reply)> on_reply;
        clock::time_point deadline;
        bool sent = false;
    };

    struct queued {
        std::uint32_t req_id = 0;
        std::vector<std::uint8_t> bytes;
    };

    struct watch_entry {
        std::string path;
        watch_handler handler;
        bool confirmed = false;  // the server acknowledged it: re-register on reconnect
    };

    // Checks that a request can be queued now (connected, tx current, room).
    std::error_code admit(tx_id tx, std::size_t count) const;
    void enqueue(outgoing msg, std::function<void(reply)> on_reply);
    void wake_writer();

    void start_connection(conn_ptr conn);
    void connection_failed(const conn_ptr& conn, std::error_code reason);
    void fail_all(std::error_code ec);
    void reset_tx_slots();
    void notify_state(connection_state s, std::error_code reason);
    void register_watch_on_server(const std::string& path, const std::string& token);

    // Handles one complete frame; false on a protocol error.
    bool dispatch(const frame& f);
    void deliver_event(std::string_view path, std::string_view token);
    void expire_requests(const conn_ptr& conn);

    static asio::awaitable<void> reader(self_ptr self, conn_ptr conn);
    static asio::awaitable<void> writer(self_ptr self, conn_ptr conn);
    static asio::awaitable<void> sweeper(self_ptr self, conn_ptr conn);
    static asio::awaitable<void> reconnect_loop(self_ptr self);
    static asio::awaitable<std::error_code> open(self_ptr self, conn_ptr conn);

    asio::any_io_executor ex_;
    client_options options_;
    state state_ = state::idle;
    conn_ptr conn_;        // the live connection
    conn_ptr connecting_;  // a connect attempt in progress (close() aborts it)
    asio::steady_timer reconnect_timer_;
    std::uint64_t epoch_counter_ = 0;
    std::uint32_t next_req_id_ = 1;

    std::unordered_map<std::uint32_t, pending> pending_;
    std::deque<queued> queue_;
    std::size_t in_flight_ = 0;                    // sent, reply not yet seen
    std::unordered_set<std::uint32_t> abandoned_;  // sent, timed out, reply still due

    std::size_t tx_reserved_ = 0;                 // transactions starting or open
    std::unordered_set<std::uint32_t> open_txs_;  // ids started on this connection
    std::deque<std::shared_ptr<detail::completion<bool>>> tx_waiters_;

    std::map<std::string, std::shared_ptr<watch_entry>, std::less<>> watches_;  // by token
    state_handler state_handler_;
    client_stats stats_;
};

}  // namespace jitsu::xenstore
