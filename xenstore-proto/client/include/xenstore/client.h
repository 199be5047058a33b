// An asynchronous Xenstore client over the daemon's unix socket (Boost.Asio, C++20
// coroutines). Errors are values (result<T>, see result.h); nothing throws on the
// normal path.
//
// Model
// - One client = one connection, driven by one executor. Call every member function
//   from that executor's thread (run the io_context on one thread, or give a strand);
//   watch and state handlers run there too.
// - Pipelining: any number of coroutines may await operations at once. Each request
//   gets a fresh req_id; replies are matched by req_id, in any order. At most
//   `max_in_flight` requests are on the wire; the rest wait in the send queue (callers
//   simply wait longer). Beyond `max_queued` waiting requests, new ones fail at once
//   with client_errc::queue_full. Batches (write_many, submit, read_many) go out
//   back-to-back in one write and cost one round trip.
// - String arguments are copied into the request when the function is called, so a
//   string_view only has to live until the call returns, not until the co_await ends.
// - Connection loss: requests queued or in flight complete with
//   client_errc::connection_lost; requests issued while disconnected fail with
//   client_errc::not_connected (nothing is queued across a reconnect). Transactions
//   started on the old connection are dead: their operations fail with
//   client_errc::transaction_lost. With `reconnect` on, the client reconnects with
//   exponential backoff and re-registers every watch; the server then sends each
//   watch's initial event, so consumers re-read their state from their handlers.
// - A malformed or oversized message from the server is a protocol error: the client
//   drops the connection (and reconnects), it never trusts the bytes.
// - close() (or the destructor) completes every pending request with
//   client_errc::closed, and no handler is called after it returns. Destroy the client
//   before its io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "xenstore/asio.h"
#include "xenstore/result.h"
#include "xenstore/wire.h"

namespace jitsu::xenstore {

// $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /run/xenstored/socket — the
// lookup libxenstore does.
std::string default_socket_path();

struct client_options {
    // The daemon's unix socket.
    std::string socket_path = default_socket_path();
    // Reconnect in the background after an established connection drops.
    bool reconnect = true;
    // Delay before the first reconnect attempt; doubles per failed attempt up to max.
    std::chrono::milliseconds reconnect_initial{50};
    std::chrono::milliseconds reconnect_max{2000};
    // A request with no reply after this long fails with client_errc::timeout
    // (zero: wait forever). The connection is kept; when max_in_flight requests have
    // timed out without a late reply, the server is considered stuck and the
    // connection dropped.
    std::chrono::milliseconds request_timeout{10000};
    // Requests on the wire awaiting a reply. More are queued, not refused.
    std::size_t max_in_flight = 64;
    // Requests waiting to be sent; beyond this new requests fail with queue_full.
    std::size_t max_queued = 65536;
    // Open transactions per connection (xenstored's per-connection quota is 10; one
    // more fails with ENOSPC). transaction_start() beyond this waits until another
    // transaction ends (FIFO). Zero: no limit.
    std::size_t max_transactions = 10;
};

// A transaction as the client knows it: the server's id and the connection it was
// started on (a reconnect invalidates it). Default-constructed: no transaction.
struct tx_id {
    std::uint32_t id = 0;
    std::uint64_t connection = 0;
    explicit operator bool() const { return id != 0; }
    bool operator==(const tx_id&) const = default;
};

enum class connection_state { connected, disconnected };

// `reason` is empty for `connected`; for `disconnected` it says why (EOF,
// client_errc::protocol_error, client_errc::timeout, a socket error).
using state_handler = std::function<void(connection_state state, std::error_code reason)>;

// Called for every XS_WATCH_EVENT carrying this watch's token, including the initial
// event the server sends when the watch is (re-)registered. The views live only for
// the call. Must not throw (exceptions are swallowed).
using watch_handler = std::function<void(std::string_view path, std::string_view token)>;

// One element of a pipelined batch (submit()).
struct batch_op {
    enum class kind : std::uint8_t { write, mkdir, rm };
    kind op = kind::write;
    std::string_view path;
    std::string_view value;  // write only

    static batch_op write(std::string_view path, std::string_view value) {
        return {kind::write, path, value};
    }
    static batch_op mkdir(std::string_view path) { return {kind::mkdir, path, {}}; }
    static batch_op rm(std::string_view path) { return {kind::rm, path, {}}; }
};

struct client_stats {
    std::uint64_t requests = 0;         // requests written to the socket
    std::uint64_t replies = 0;          // replies matched to a request
    std::uint64_t error_replies = 0;    // of which XS_ERROR
    std::uint64_t watch_events = 0;     // XS_WATCH_EVENTs received
    std::uint64_t timeouts = 0;         // requests failed with client_errc::timeout
    std::uint64_t protocol_errors = 0;  // connections dropped for a protocol error
    std::uint64_t connects = 0;         // connections established
    std::uint64_t disconnects = 0;      // connections lost
    std::size_t in_flight = 0;          // now on the wire
    std::size_t queued = 0;             // now waiting to be sent
};

class client_impl;

class client {
  public:
    using string_pair = std::pair<std::string_view, std::string_view>;

    explicit client(asio::any_io_executor ex, client_options options = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // One connection attempt to options().socket_path. After it succeeds, the client
    // keeps the connection up by itself (if options().reconnect). Errors: the
    // socket's (ENOENT, ECONNREFUSED as system errors), connect_in_progress, closed.
    asio::awaitable<result<void>> connect();
    // Stops everything: pending requests complete with client_errc::closed, handlers
    // are dropped, no reconnect. Idempotent. The client cannot be reused.
    void close();
    bool connected() const;
    // Replaces the connection-state handler (one at a time).
    void on_state(state_handler handler);
    const client_options& options() const;
    const asio::any_io_executor& get_executor() const;
    client_stats stats() const;

    // --- Nodes. `tx` is optional: default = outside any transaction. ---
    asio::awaitable<result<std::string>> read(std::string_view path, tx_id tx = {});
    asio::awaitable<result<void>> write(std::string_view path, std::string_view value,
                                        tx_id tx = {});
    asio::awaitable<result<void>> mkdir(std::string_view path, tx_id tx = {});
    // Removes the node and its subtree. Not an error if it does not exist (the server
    // answers ENOENT only when the parent is missing too).
    asio::awaitable<result<void>> rm(std::string_view path, tx_id tx = {});
    // Child names (leaf names, not full paths). Uses XS_DIRECTORY and falls back to
    // XS_DIRECTORY_PART paging when the server answers E2BIG.
    asio::awaitable<result<std::vector<std::string>>> directory(std::string_view path,
                                                                tx_id tx = {});
    asio::awaitable<result<std::vector<permission>>> get_perms(std::string_view path,
                                                               tx_id tx = {});
    asio::awaitable<result<void>> set_perms(std::string_view path,
                                            std::span<const permission> perms, tx_id tx = {});
    asio::awaitable<result<std::string>> get_domain_path(std::uint32_t domid);

    // --- Batches: sent back-to-back, one round trip; all replies awaited. ---
    // Writes every (path, value); returns the first error in batch order (the other
    // writes are still done: inside a transaction, abort on error).
    asio::awaitable<result<void>> write_many(std::span<const string_pair> writes, tx_id tx = {});
    // Mixed writes, mkdirs and rms; first error in batch order, as write_many.
    asio::awaitable<result<void>> submit(std::span<const batch_op> ops, tx_id tx = {});
    // One result per path, in order. The outer result fails only if the batch could
    // not be issued at all (not connected, queue full, ...).
    asio::awaitable<result<std::vector<result<std::string>>>> read_many(
        std::span<const std::string_view> paths, tx_id tx = {});

    // --- Transactions. ---
    // Waits for a slot when options().max_transactions are open on this connection.
    // Every started transaction must be ended (commit or abort) to free its slot; a
    // reconnect frees them all.
    asio::awaitable<result<tx_id>> transaction_start();
    // commit = false aborts. Commit may fail with EAGAIN (a conflicting change).
    asio::awaitable<result<void>> transaction_end(tx_id tx, bool commit);

    using transaction_body = std::function<asio::awaitable<result<void>>(tx_id)>;
    // Starts a transaction, runs `body` with it and commits. If the commit (or an
    // operation in the body) answers EAGAIN, or the transaction was lost to a
    // reconnect, the whole body runs again in a new transaction, up to `max_attempts`
    // times (then EAGAIN). If the body returns an error, the transaction is aborted
    // and that error returned; other errors (connection_lost, not_connected) are
    // returned too. The body must therefore be safe to run more than once.
    asio::awaitable<result<void>> transact(transaction_body body, int max_attempts = 16);

    // --- Watches. Tokens are the caller's strings and must be unique per client:
    // events are routed by token. A watch with a token already in use fails with
    // EEXIST. The handler is called for the initial event and every later one, also
    // after reconnects (the watch is re-registered), until unwatch() or close().
    asio::awaitable<result<void>> watch(std::string path, std::string token, watch_handler handler);
    // The handler is dropped at once (no more calls), then XS_UNWATCH is sent. While
    // disconnected, only the local registration is removed.
    asio::awaitable<result<void>> unwatch(std::string_view path, std::string_view token);

  private:
    std::shared_ptr<client_impl> impl_;
};

}  // namespace jitsu::xenstore
