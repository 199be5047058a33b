#include "client_impl.h"

#include <sys/un.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

namespace jitsu::xenstore {

namespace {

using boost::asio::redirect_error;
using boost::asio::use_awaitable;

// Holds any complete frame (header + payload_max) plus room for the next reads.
constexpr std::size_t read_buffer_size = std::size_t{64} * 1024;
// Messages gathered into one socket write at most.
constexpr std::size_t max_write_batch = 1024;

// OS errors keep their errno in the system category; others (EOF, ...) convert as is.
std::error_code to_std(const boost::system::error_code& ec) {
    if (!ec) return {};
    if (ec.category() == boost::system::system_category()) {
        return {ec.value(), std::system_category()};
    }
    return ec;
}

}  // namespace

client_impl::client_impl(asio::any_io_executor ex, client_options options)
    : ex_(std::move(ex)), options_(std::move(options)), reconnect_timer_(ex_) {
    options_.max_in_flight = std::max<std::size_t>(options_.max_in_flight, 1);
    options_.max_queued = std::max<std::size_t>(options_.max_queued, 1);
    options_.reconnect_initial = std::max(options_.reconnect_initial, std::chrono::milliseconds(1));
    options_.reconnect_max = std::max(options_.reconnect_max, options_.reconnect_initial);
}

client_stats client_impl::stats() const {
    client_stats s = stats_;
    s.in_flight = in_flight_;
    s.queued = queue_.size();
    return s;
}

outgoing client_impl::build(std::uint32_t type, tx_id tx, std::span<const std::string_view> strings,
                            std::optional<std::string_view> raw_tail) {
    outgoing out;
    out.type = type;
    // Fresh id; 0 is what watch events carry, and an id still awaited is skipped.
    do {
        out.req_id = next_req_id_++;
    } while (out.req_id == watch_event_req_id || pending_.contains(out.req_id) ||
             abandoned_.contains(out.req_id));

    std::size_t size = raw_tail ? raw_tail->size() : 0;
    for (auto s : strings) {
        if (s.find('\0') != std::string_view::npos) {
            out.ec = xs_error(EINVAL);
            return out;
        }
        size += s.size() + 1;
    }
    if (size > payload_max) {
        out.ec = xs_error(E2BIG);
        return out;
    }
    message_builder b(type, out.req_id, tx.id);
    for (auto s : strings) b.add_string(s);
    if (raw_tail) b.add_raw(*raw_tail);
    out.bytes = b.finish();
    return out;
}

std::error_code client_impl::admit(tx_id tx, std::size_t count) const {
    if (state_ == state::closed) return client_errc::closed;
    if (state_ != state::connected || !conn_) return client_errc::not_connected;
    if (tx && tx.connection != conn_->epoch) return client_errc::transaction_lost;
    if (queue_.size() + count > options_.max_queued) return client_errc::queue_full;
    return {};
}

void client_impl::enqueue(outgoing msg, std::function<void(reply)> on_reply) {
    pending p;
    p.type = msg.type;
    p.on_reply = std::move(on_reply);
    p.deadline = options_.request_timeout.count() > 0 ? clock::now() + options_.request_timeout
                                                      : clock::time_point::max();
    pending_.emplace(msg.req_id, std::move(p));
    queue_.push_back({msg.req_id, std::move(msg.bytes)});
}

void client_impl::wake_writer() {
    if (conn_) conn_->wake.cancel();
}

asio::awaitable<reply> client_impl::request(self_ptr self, outgoing msg, tx_id tx) {
    if (msg.ec) co_return reply{msg.ec, {}, 0};
    if (auto ec = self->admit(tx, 1)) co_return reply{ec, {}, 0};
    // The initiation runs right after this coroutine suspends, on this thread: nothing
    // can change the state between admit() and enqueue().
    co_return co_await asio::async_initiate<decltype(use_awaitable), void(reply)>(
        [&self, &msg](auto handler) {
            using done_t = detail::completion_for<reply, decltype(handler)>;
            auto done = std::make_shared<done_t>(std::move(handler), self->ex_);
            self->enqueue(std::move(msg), [done](reply r) { done->complete(std::move(r)); });
            self->wake_writer();
        },
        use_awaitable);
}

asio::awaitable<result<std::vector<reply>>> client_impl::request_many(self_ptr self,
                                                                      std::vector<outgoing> msgs,
                                                                      tx_id tx) {
    if (auto ec = self->admit(tx, msgs.size())) co_return ec;
    struct batch {
        std::vector<reply> replies;
        std::size_t remaining = 0;
        std::shared_ptr<detail::completion<std::vector<reply>>> done;
    };
    co_return co_await asio::async_initiate<decltype(use_awaitable), void(std::vector<reply>)>(
        [&self, &msgs](auto handler) {
            using done_t = detail::completion_for<std::vector<reply>, decltype(handler)>;
            auto b = std::make_shared<batch>();
            b->replies.resize(msgs.size());
            b->remaining = msgs.size();
            b->done = std::make_shared<done_t>(std::move(handler), self->ex_);
            for (std::size_t i = 0; i < msgs.size(); ++i) {
                if (msgs[i].ec) {  // could not be built: fails alone
                    b->replies[i].ec = msgs[i].ec;
                    --b->remaining;
                    continue;
                }
                self->enqueue(std::move(msgs[i]), [b, i](reply r) {
                    b->replies[i] = std::move(r);
                    if (--b->remaining == 0) b->done->complete(std::move(b->replies));
                });
            }
            if (b->remaining == 0) b->done->complete(std::move(b->replies));
            self->wake_writer();
        },
        use_awaitable);
}

// --- Connection lifecycle ---

asio::awaitable<std::error_code> client_impl::open(self_ptr self, conn_ptr conn) {
    const auto& path = self->options_.socket_path;
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
        co_return std::error_code(ENAMETOOLONG, std::system_category());
    }
    self->connecting_ = conn;
    boost::system::error_code ec;
    co_await conn->socket.async_connect(asio::local::stream_protocol::endpoint(path),
                                        redirect_error(use_awaitable, ec));
    if (self->connecting_ == conn) self->connecting_.reset();
    co_return to_std(ec);
}

asio::awaitable<result<void>> client_impl::connect(self_ptr self) {
    switch (self->state_) {
        case state::closed:
            co_return client_errc::closed;
        case state::connected:
            co_return result<void>{};
        case state::connecting:
            co_return client_errc::connect_in_progress;
        case state::idle:
            break;
    }
    self->state_ = state::connecting;
    auto conn = std::make_shared<connection>(self->ex_);
    auto ec = co_await open(self, conn);
    if (self->state_ != state::connecting) co_return client_errc::closed;
    if (ec) {
        self->state_ = state::idle;
        co_return ec;
    }
    self->start_connection(std::move(conn));
    co_return result<void>{};
}

void client_impl::start_connection(conn_ptr conn) {
    conn->epoch = ++epoch_counter_;
    conn_ = conn;
    reset_tx_slots();
    state_ = state::connected;
    ++stats_.connects;
    auto self = shared_from_this();
    asio::co_spawn(ex_, reader(self, conn), asio::detached);
    asio::co_spawn(ex_, writer(self, conn), asio::detached);
    if (options_.request_timeout.count() > 0) {
        asio::co_spawn(ex_, sweeper(self, conn), asio::detached);
    }
    // The server forgot our watches with the old connection: register them again. Each
    // answers with an initial event, so the consumers re-read what they watch.
    for (const auto& [token, w] : watches_) {
        if (w->confirmed) register_watch_on_server(w->path, token);
    }
    notify_state(connection_state::connected, {});
}

void client_impl::register_watch_on_server(const std::string& path, const std::string& token) {
    auto msg = build(XS_WATCH, {}, {path, token});
    if (msg.ec) return;
    enqueue(std::move(msg), [](reply) {});
    wake_writer();
}

void client_impl::connection_failed(const conn_ptr& conn, std::error_code reason) {
    if (!conn || conn != conn_) return;  // an older connection, already handled
    conn_.reset();
    state_ = state::idle;
    boost::system::error_code ignored;
    conn->socket.close(ignored);
    conn->wake.cancel();
    conn->sweep.cancel();
    ++stats_.disconnects;
    if (reason == client_errc::protocol_error) ++stats_.protocol_errors;
    fail_all(client_errc::connection_lost);
    reset_tx_slots();  // the server dropped our transactions; waiters see not_connected
    notify_state(connection_state::disconnected, reason);
    // The handler may have closed the client or called connect() itself.
    if (options_.reconnect && state_ == state::idle) {
        state_ = state::connecting;
        asio::co_spawn(ex_, reconnect_loop(shared_from_this()), asio::detached);
    }
}

asio::awaitable<void> client_impl::reconnect_loop(self_ptr self) {
    auto delay = self->options_.reconnect_initial;
    for (;;) {
        self->reconnect_timer_.expires_after(delay);
        boost::system::error_code ec;
        co_await self->reconnect_timer_.async_wait(redirect_error(use_awaitable, ec));
        if (self->state_ != state::connecting) co_return;  // closed meanwhile
        auto conn = std::make_shared<connection>(self->ex_);
        auto err = co_await open(self, conn);
        if (self->state_ != state::connecting) co_return;
        if (!err) {
            self->start_connection(std::move(conn));
            co_return;
        }
        delay = std::min(delay * 2, self->options_.reconnect_max);
    }
}

void client_impl::close() {
    if (state_ == state::closed) return;
    state_ = state::closed;
    // No user code runs after close(): drop the handlers first.
    state_handler_ = nullptr;
    watches_.clear();
    boost::system::error_code ignored;
    if (conn_) {
        conn_->socket.close(ignored);
        conn_->wake.cancel();
        conn_->sweep.cancel();
        conn_.reset();
    }
    if (connecting_) {
        connecting_->socket.close(ignored);
        connecting_.reset();
    }
    reconnect_timer_.cancel();
    fail_all(client_errc::closed);
    reset_tx_slots();
}

void client_impl::fail_all(std::error_code ec) {
    auto victims = std::move(pending_);
    pending_.clear();
    queue_.clear();
    abandoned_.clear();
    in_flight_ = 0;
    for (auto& [id, p] : victims) p.on_reply(reply{ec, {}, 0});
}

void client_impl::notify_state(connection_state s, std::error_code reason) {
    auto handler = state_handler_;  // the handler may replace itself or close()
    if (!handler) return;
    try {
        handler(s, reason);
    } catch (...) {  // NOLINT(bugprone-empty-catch): handlers must not throw
    }
}

// --- Transaction slots ---

asio::awaitable<result<std::uint64_t>> client_impl::acquire_tx_slot(self_ptr self) {
    for (;;) {
        if (self->state_ == state::closed) co_return client_errc::closed;
        if (self->state_ != state::connected || !self->conn_) co_return client_errc::not_connected;
        auto limit = self->options_.max_transactions;
        if (limit == 0 || self->tx_reserved_ < limit) {
            ++self->tx_reserved_;
            co_return self->conn_->epoch;
        }
        // Woken (FIFO) when a slot frees up or the connection goes: check again.
        co_await asio::async_initiate<decltype(use_awaitable), void(bool)>(
            [&self](auto handler) {
                using done_t = detail::completion_for<bool, decltype(handler)>;
                self->tx_waiters_.push_back(
                    std::make_shared<done_t>(std::move(handler), self->ex_));
            },
            use_awaitable);
    }
}

void client_impl::tx_started(tx_id tx) {
    if (conn_ && conn_->epoch == tx.connection) open_txs_.insert(tx.id);
}

void client_impl::release_tx_slot(tx_id tx) {
    if (!conn_ || conn_->epoch != tx.connection) return;    // freed by a reconnect already
    if (tx.id != 0 && open_txs_.erase(tx.id) == 0) return;  // not ours, or ended twice
    if (tx_reserved_ > 0) --tx_reserved_;
    if (!tx_waiters_.empty()) {
        auto next = std::move(tx_waiters_.front());
        tx_waiters_.pop_front();
        next->complete(true);
    }
}

void client_impl::reset_tx_slots() {
    tx_reserved_ = 0;
    open_txs_.clear();
    auto waiters = std::move(tx_waiters_);
    tx_waiters_.clear();
    for (auto& w : waiters) w->complete(true);
}

// --- Receiving ---

asio::awaitable<void> client_impl::reader(self_ptr self, conn_ptr conn) {
    std::vector<std::uint8_t> buf(read_buffer_size);
    std::size_t have = 0;
    for (;;) {
        boost::system::error_code ec;
        std::size_t n = co_await conn->socket.async_read_some(
            asio::buffer(buf.data() + have, buf.size() - have), redirect_error(use_awaitable, ec));
        if (conn != self->conn_) co_return;
        if (ec) {
            self->connection_failed(conn, to_std(ec));
            co_return;
        }
        have += n;
        std::size_t off = 0;
        for (;;) {
            auto f = parse_frame(std::span<const std::uint8_t>(buf.data() + off, have - off));
            if (f.status == frame_status::need_more) break;
            if (f.status == frame_status::oversized || !self->dispatch(f)) {
                self->connection_failed(conn, client_errc::protocol_error);
                co_return;
            }
            if (conn != self->conn_) co_return;  // a watch handler closed the client
            off += f.consumed;
        }
        // What is left is less than one frame, so the buffer always has room.
        if (off > 0) {
            std::memmove(buf.data(), buf.data() + off, have - off);
            have -= off;
        }
    }
}

bool client_impl::dispatch(const frame& f) {
    payload_reader pr(f.payload);
    if (f.hdr.type == XS_WATCH_EVENT) {
        auto path = pr.next_string();
        auto token = pr.next_string();
        if (!path || !token) return false;
        ++stats_.watch_events;
        deliver_event(*path, *token);
        return true;
    }
    auto it = pending_.find(f.hdr.req_id);
    if (it == pending_.end() || !it->second.sent) {
        // The late reply of a request that timed out is fine; anything else is not.
        if (abandoned_.erase(f.hdr.req_id) > 0) {
            --in_flight_;
            wake_writer();
            return true;
        }
        return false;
    }
    if (f.hdr.type != it->second.type && f.hdr.type != XS_ERROR) return false;

    reply r;
    r.connection = conn_ ? conn_->epoch : 0;
    if (f.hdr.type == XS_ERROR) {
        auto name = pr.next_string();
        r.ec = xs_error(error_number(name ? *name : pr.rest()));
        ++stats_.error_replies;
    } else {
        r.payload.assign(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
    }
    auto on_reply = std::move(it->second.on_reply);
    pending_.erase(it);
    --in_flight_;
    ++stats_.replies;
    on_reply(std::move(r));
    if (!queue_.empty()) wake_writer();
    return true;
}

void client_impl::deliver_event(std::string_view path, std::string_view token) {
    auto it = watches_.find(token);
    if (it == watches_.end()) return;  // unwatched meanwhile: dropped
    auto w = it->second;               // alive even if the handler unwatches or closes
    if (!w->handler) return;
    try {
        w->handler(path, token);
    } catch (...) {  // NOLINT(bugprone-empty-catch): handlers must not throw
    }
}

// --- Sending ---

asio::awaitable<void> client_impl::writer(self_ptr self, conn_ptr conn) {
    std::vector<std::vector<std::uint8_t>> batch;
    std::vector<asio::const_buffer> buffers;
    for (;;) {
        while (conn == self->conn_ &&
               (self->queue_.empty() || self->in_flight_ >= self->options_.max_in_flight)) {
            conn->wake.expires_at(clock::time_point::max());
            boost::system::error_code ec;
            co_await conn->wake.async_wait(redirect_error(use_awaitable, ec));
        }
        if (conn != self->conn_) co_return;

        batch.clear();
        buffers.clear();
        while (!self->queue_.empty() && self->in_flight_ < self->options_.max_in_flight &&
               batch.size() < max_write_batch) {
            auto q = std::move(self->queue_.front());
            self->queue_.pop_front();
            auto it = self->pending_.find(q.req_id);
            if (it == self->pending_.end()) continue;  // timed out while queued
            it->second.sent = true;
            ++self->in_flight_;
            batch.push_back(std::move(q.bytes));
        }
        if (batch.empty()) continue;
        for (const auto& b : batch) buffers.emplace_back(asio::buffer(b));
        self->stats_.requests += batch.size();

        boost::system::error_code ec;
        co_await asio::async_write(conn->socket, buffers, redirect_error(use_awaitable, ec));
        if (conn != self->conn_) co_return;
        if (ec) {
            self->connection_failed(conn, to_std(ec));
            co_return;
        }
    }
}

// --- Timeouts ---

asio::awaitable<void> client_impl::sweeper(self_ptr self, conn_ptr conn) {
    using std::chrono::milliseconds;
    auto interval =
        std::clamp(self->options_.request_timeout / 8, milliseconds(1), milliseconds(1000));
    for (;;) {
        conn->sweep.expires_after(interval);
        boost::system::error_code ec;
        co_await conn->sweep.async_wait(redirect_error(use_awaitable, ec));
        if (conn != self->conn_) co_return;
        self->expire_requests(conn);
    }
}

void client_impl::expire_requests(const conn_ptr& conn) {
    auto now = clock::now();
    std::vector<std::function<void(reply)>> expired;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline <= now) {
            // Still counted in flight until its late reply shows up.
            if (it->second.sent) abandoned_.insert(it->first);
            expired.push_back(std::move(it->second.on_reply));
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    stats_.timeouts += expired.size();
    for (auto& on_reply : expired) on_reply(reply{client_errc::timeout, {}, 0});
    // Every slot taken by a request the server never answered: it is stuck.
    if (!abandoned_.empty() && abandoned_.size() >= options_.max_in_flight) {
        connection_failed(conn, client_errc::timeout);
    }
}

// --- Watches ---

asio::awaitable<result<void>> client_impl::watch(self_ptr self, std::string path, std::string token,
                                                 watch_handler handler) {
    if (self->watches_.contains(token)) co_return xs_error(EEXIST);
    auto msg = self->build(XS_WATCH, {}, {path, token});
    if (msg.ec) co_return msg.ec;
    if (auto ec = self->admit({}, 1)) co_return ec;
    // Registered before sending: the initial event may come before we resume.
    auto entry = std::make_shared<watch_entry>(watch_entry{path, std::move(handler), false});
    self->watches_.emplace(token, entry);
    auto r = co_await request(self, std::move(msg), {});
    auto it = self->watches_.find(token);
    bool ours = it != self->watches_.end() && it->second == entry;  // not unwatched meanwhile
    if (r.ec) {
        if (ours) self->watches_.erase(it);
        co_return r.ec;
    }
    if (ours) entry->confirmed = true;
    co_return result<void>{};
}

asio::awaitable<result<void>> client_impl::unwatch(self_ptr self, std::string path,
                                                   std::string token) {
    bool found = false;
    if (auto it = self->watches_.find(token);
        it != self->watches_.end() && it->second->path == path) {
        self->watches_.erase(it);
        found = true;
    }
    if (self->state_ != state::connected) {
        // The server dropped our watches with the connection.
        if (found) co_return result<void>{};
        co_return self->state_ == state::closed ? client_errc::closed : client_errc::not_connected;
    }
    // (Built outside the co_await: GCC 12 mishandles an initializer_list inside one.)
    auto msg = self->build(XS_UNWATCH, {}, {path, token});
    auto r = co_await request(self, std::move(msg), {});
    if (r.ec) co_return r.ec;
    co_return result<void>{};
}

}  // namespace jitsu::xenstore
