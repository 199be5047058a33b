#include "tcp_connection.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "server_core.h"

namespace jitsu::dns::detail {

namespace asio = boost::asio;
using asio::redirect_error;
using asio::use_awaitable;

// Frame buffers kept for reuse per connection; more are freed after use.
constexpr std::size_t max_spare_frames = 8;

tcp_connection::tcp_connection(server_impl& server, asio::ip::tcp::socket socket,
                               const asio::ip::address& peer)
    : server_(&server),
      alive_(server.alive()),
      socket_(std::move(socket)),
      idle_(socket_.get_executor()),
      wake_writer_(socket_.get_executor()),
      wake_reader_(socket_.get_executor()),
      in_(server.options().max_tcp_query),
      out_(max_message_size),
      peer_(peer),
      client_(client_key_of(peer)) {}

tcp_connection::~tcp_connection() {
    if (*alive_) server_->connection_closed(this);
}

void tcp_connection::start() {
    touch();
    wake_writer_.expires_at(std::chrono::steady_clock::time_point::max());
    wake_reader_.expires_at(std::chrono::steady_clock::time_point::max());
    auto self = shared_from_this();
    asio::co_spawn(
        socket_.get_executor(), [self] { return self->reader(); }, asio::detached);
    asio::co_spawn(
        socket_.get_executor(), [self] { return self->writer(); }, asio::detached);
    asio::co_spawn(
        socket_.get_executor(), [self] { return self->watchdog(); }, asio::detached);
}

void tcp_connection::close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    idle_.cancel();
    wake_writer_.cancel();
    wake_reader_.cancel();
    if (*alive_) server_->connection_closed(this);
}

void tcp_connection::touch() {
    last_active_ = std::chrono::steady_clock::now();
    if (*alive_) deadline_ = last_active_ + server_->options().tcp_idle_timeout;
}

bool tcp_connection::may_defer() const {
    return *alive_ && deferred_ < server_->options().max_tcp_pending_per_connection;
}

void tcp_connection::send(std::span<const std::uint8_t> answer) {
    if (closed_ || answer.size() > max_message_size) return;
    std::vector<std::uint8_t> frame;
    if (!spare_.empty()) {
        frame = std::move(spare_.back());
        spare_.pop_back();
    }
    frame.resize(2 + answer.size());
    store_be16(frame.data(), static_cast<std::uint16_t>(answer.size()));
    std::copy(answer.begin(), answer.end(), frame.begin() + 2);
    queue_.push_back(std::move(frame));
    wake_writer_.cancel_one();
}

asio::awaitable<void> tcp_connection::reader() {
    auto self = shared_from_this();
    boost::system::error_code ec;
    std::array<std::uint8_t, 2> prefix{};
    while (!closed_) {
        // Back-pressure: a client that sends but does not read stops being read.
        if (queue_.size() >= server_->options().max_tcp_pending_per_connection) {
            co_await wake_reader_.async_wait(redirect_error(use_awaitable, ec));
            if (!*alive_) break;
            continue;
        }
        co_await asio::async_read(socket_, asio::buffer(prefix), redirect_error(use_awaitable, ec));
        if (ec || !*alive_) break;
        std::size_t length = load_be16(prefix.data());
        if (length == 0 || length > in_.size()) {
            ++server_->stats().tcp_bad_length;
            break;
        }
        co_await asio::async_read(socket_, asio::buffer(in_.data(), length),
                                  redirect_error(use_awaitable, ec));
        if (ec || !*alive_) break;
        touch();
        ++server_->stats().queries_tcp;
        client_ref from;
        from.via = transport::tcp;
        from.conn = this;
        std::size_t n = server_->handle(std::span(in_.data(), length), from, out_);
        if (n > 0) send(std::span(out_.data(), n));
    }
    close();
}

asio::awaitable<void> tcp_connection::writer() {
    auto self = shared_from_this();
    boost::system::error_code ec;
    while (!closed_) {
        if (queue_.empty()) {
            co_await wake_writer_.async_wait(redirect_error(use_awaitable, ec));
            continue;  // woken by send() (cancel) or by close()
        }
        co_await asio::async_write(socket_, asio::buffer(queue_.front()),
                                   redirect_error(use_awaitable, ec));
        if (ec || !*alive_) break;
        touch();
        if (spare_.size() < max_spare_frames) spare_.push_back(std::move(queue_.front()));
        queue_.pop_front();
        wake_reader_.cancel_one();
    }
    close();
}

asio::awaitable<void> tcp_connection::watchdog() {
    auto self = shared_from_this();
    boost::system::error_code ec;
    while (!closed_ && *alive_) {
        idle_.expires_at(deadline_);
        co_await idle_.async_wait(redirect_error(use_awaitable, ec));
        if (closed_ || !*alive_) break;
        // Idle: nothing read or written for the timeout and no answer being prepared. Answers
        // queued but not written for that long mean a client that does not read: closed too.
        if (std::chrono::steady_clock::now() >= deadline_ && deferred_ == 0) {
            ++server_->stats().tcp_idle_closed;
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline_) touch();
    }
    close();
}

}  // namespace jitsu::dns::detail
