#include "xenstored/connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

namespace jitsu::xenstored {

connection::connection(socket_type socket, request_handler& handler, std::uint32_t domid,
                       connection_owner& owner)
    : socket_(std::move(socket)),
      handler_(handler),
      owner_(owner),
      session_(handler.state(), domid),
      stream_(handler, session_) {}

connection::~connection() = default;

void connection::start() {
    session_.set_listener(this);
    if (handler_.state().trace_requests()) {
        spdlog::debug("session {} (dom{}) connected", session_.id(), session_.domid());
    }
    do_read();
}

void connection::stop() {
    if (stopped_) return;
    stopped_ = true;
    auto self = shared_from_this();
    if (handler_.state().trace_requests()) {
        spdlog::debug("session {} (dom{}) closed", session_.id(), session_.domid());
    }
    session_.close();
    boost::system::error_code ignored;
    socket_.shutdown(socket_type::shutdown_both, ignored);
    socket_.close(ignored);
    owner_.connection_closed(self);
}

void connection::do_read() {
    if (reading_ || blocked_ || stopped_) return;
    reading_ = true;
    auto space = stream_.read_space();
    socket_.async_read_some(
        boost::asio::buffer(space.data(), space.size()),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            self->reading_ = false;
            if (self->stopped_) return;
            if (ec) {
                self->stop();
                return;
            }
            self->stream_.commit(n);
            self->handle_input();
        });
}

void connection::handle_input() {
    auto self = shared_from_this();
    const auto status = stream_.process();
    handler_.state().end_batch();
    if (stopped_) return;
    switch (status) {
        case request_stream::status::close:
            spdlog::warn("session {} (dom{}): invalid message length, disconnecting", session_.id(),
                         session_.domid());
            stop();
            return;
        case request_stream::status::blocked:
            blocked_ = true;  // resumed once the client has read (do_write's handler)
            return;
        case request_stream::status::idle:
            do_read();
            return;
    }
}

void connection::output_ready() {
    if (stopped_) return;
    if (session_.overflowed()) {
        owner_.output_overflowed(*this);
        stop();
        return;
    }
    if (!writing_) do_write();
}

void connection::do_write() {
    if (stopped_ || !session_.has_output()) return;
    session_.take_output(write_buf_);
    writing_ = true;
    boost::asio::async_write(
        socket_, boost::asio::buffer(write_buf_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            self->writing_ = false;
            if (self->stopped_) return;
            if (ec) {
                self->stop();
                return;
            }
            self->session_.output_written();
            if (self->session_.overflowed()) {
                self->stop();
                return;
            }
            self->do_write();
            if (self->blocked_) {
                self->blocked_ = false;
                self->handle_input();
            }
        });
}

}  // namespace jitsu::xenstored
