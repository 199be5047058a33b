// The server: sockets, the per-query decision (answer, gate, forward) and delivery of
// deferred answers. See server_core.h for the shape.
#include <boost/asio/socket_base.hpp>
#include <cstring>
#include <stdexcept>

#include "forwarder.h"
#include "server_core.h"
#include "tcp_connection.h"

namespace jitsu::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {
constexpr int udp_rounds = 16;          // batches per readiness before yielding to TCP/timers
constexpr int socket_buffer = 4 << 20;  // bursts of queries wait in the kernel, not dropped
constexpr int bind_attempts = 16;       // port 0: find a port free for both UDP and TCP
}  // namespace

server_impl::server_impl(asio::io_context& io, server_options options,
                         const authority_config& authority, vm_gate* gate)
    : io_(io),
      options_(std::move(options)),
      authority_(authority, options_.max_udp),
      gate_(gate),
      udp_(io),
      acceptor_(io),
      batch_(std::make_unique<detail::udp_batch>(
          std::max<std::size_t>(classic_udp_limit, authority_.max_udp()))),
      waits_(options_.max_waiting),
      scratch_out_(max_message_size) {
    bind_sockets();
    if (options_.forwarder) forwarder_ = std::make_unique<forwarder>(*this, *options_.forwarder);
}

server_impl::~server_impl() {
    stop();
    forwarder_.reset();
    *alive_ = false;
}

void server_impl::bind_sockets() {
    const std::string where = options_.bind.to_string() + " port " + std::to_string(options_.port);
    for (int attempt = 0;; ++attempt) {
        boost::system::error_code ec;
        udp::endpoint ue(options_.bind, options_.port);
        udp_.open(ue.protocol(), ec);
        if (!ec) udp_.bind(ue, ec);
        if (ec) throw std::runtime_error("cannot bind UDP " + where + ": " + ec.message());
        udp_port_ = udp_.local_endpoint().port();
        tcp::endpoint te(options_.bind, udp_port_);
        acceptor_.open(te.protocol(), ec);
        if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor_.bind(te, ec);
        if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (!ec) break;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        udp_.close(ignored);
        // A fixed port is an error; an ephemeral UDP port whose TCP twin is taken: retry.
        if (options_.port != 0 || attempt + 1 == bind_attempts)
            throw std::runtime_error("cannot bind TCP " + where + ": " + ec.message());
    }
    tcp_port_ = acceptor_.local_endpoint().port();
    boost::system::error_code ignored;  // best effort: capped by net.core.[rw]mem_max
    udp_.set_option(asio::socket_base::receive_buffer_size(socket_buffer), ignored);
    udp_.set_option(asio::socket_base::send_buffer_size(socket_buffer), ignored);
    udp_.non_blocking(true);
}

void server_impl::start() {
    arm_udp();
    accept_next();
    if (forwarder_) forwarder_->start();
}

void server_impl::stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    udp_.close(ignored);
    acceptor_.close(ignored);
    std::vector<detail::tcp_connection*> open(connections_.begin(), connections_.end());
    for (auto* c : open) c->close();
    if (forwarder_) forwarder_->stop();
    // Gate waiters stay registered: the gate calls each exactly once; wait_done() then
    // only frees its slot.
}

void server_impl::arm_udp() {
    udp_.async_wait(udp::socket::wait_read, [this, alive = alive_](boost::system::error_code ec) {
        if (!*alive || ec) return;
        on_udp_readable();
    });
}

void server_impl::on_udp_readable() {
    const int fd = udp_.native_handle();
    detail::udp_batch& b = *batch_;
    for (int round = 0; round < udp_rounds; ++round) {
        std::size_t n = b.receive(fd);
        for (std::size_t i = 0; i < n; ++i) {
            ++stats_.queries_udp;
            if (b.query_truncated(i)) {
                ++stats_.dropped;
                continue;
            }
            detail::client_ref from{transport::udp, b.source(i), b.source_length(i), nullptr};
            std::size_t size = handle(b.query(i), from, b.answer_buffer(i));
            if (size > 0) b.queue(i, size);
        }
        stats_.dropped += b.flush(fd);
        if (n < detail::udp_batch::size) break;
    }
    if (!stopped_) arm_udp();
}

void server_impl::accept_next() {
    acceptor_.async_accept([this, alive = alive_](boost::system::error_code ec, tcp::socket s) {
        if (!*alive || stopped_) return;
        if (!ec) {
            if (connections_.size() >= options_.max_tcp_connections) {
                ++stats_.tcp_rejected;
                boost::system::error_code ignored;
                s.close(ignored);
            } else {
                auto c = std::make_shared<detail::tcp_connection>(*this, std::move(s));
                connections_.insert(c.get());
                c->start();
            }
        }
        accept_next();
    });
}

detail::client server_impl::own(const detail::client_ref& from) {
    detail::client c;
    c.via = from.via;
    if (from.via == transport::udp) {
        std::memcpy(&c.addr, from.addr, std::min<std::size_t>(from.addr_len, sizeof c.addr));
        c.addr_len = from.addr_len;
    } else if (from.conn != nullptr) {
        c.conn = from.conn->weak_from_this();
    }
    return c;
}

void server_impl::count_answer(std::uint16_t rc, bool truncated) {
    switch (rc) {
        case rcode::noerror:
            ++stats_.answered;
            break;
        case rcode::nxdomain:
            ++stats_.nxdomain;
            break;
        case rcode::refused:
            ++stats_.refused;
            break;
        case rcode::formerr:
            ++stats_.formerr;
            break;
        case rcode::notimp:
            ++stats_.notimp;
            break;
        case rcode::servfail:
            ++stats_.servfail;
            break;
        default:
            ++stats_.answered;
            break;  // BADVERS and upstream's other codes
    }
    if (truncated) ++stats_.truncated;
}

std::size_t server_impl::handle(std::span<const std::uint8_t> message,
                                const detail::client_ref& from, std::span<std::uint8_t> out) {
    query& q = scratch_query_;
    response r = respond(authority_, message, from.via, q, out);
    switch (r.what) {
        case response::action::drop:
            ++stats_.dropped;
            return 0;
        case response::action::send:
            count_answer(r.rcode, r.truncated);
            return r.size;
        case response::action::gate:
            return answer_vm(q, r.plan, from, out);
        case response::action::forward:
            break;
    }
    auto fail = [&](std::uint16_t rc) {
        count_answer(rc, false);
        return write_error(q, rc, authority_.max_udp(), out);
    };
    if (!forwarder_) return fail(rcode::refused);
    const bool may_forward = from.via == transport::tcp
                                 ? options_.forward_clients.allows(from.conn->peer())
                                 : options_.forward_clients.allows(from.addr, from.addr_len);
    if (!may_forward) {
        ++stats_.forward_refused;
        return fail(rcode::refused);
    }
    if (from.via == transport::tcp && !from.conn->may_defer()) return fail(rcode::servfail);
    switch (forwarder_->forward(message, q, from)) {
        case forwarder::result::sent:
            ++stats_.forwarded;
            if (from.via == transport::tcp) from.conn->deferred();
            return 0;
        case forwarder::result::full:
            ++stats_.forward_overflow;
            return fail(rcode::servfail);
        case forwarder::result::failed:
            break;
    }
    return fail(rcode::servfail);
}

std::size_t server_impl::answer_vm(const query& q, const answer_plan& plan,
                                   const detail::client_ref& from, std::span<std::uint8_t> out) {
    auto answer = [&] {
        std::uint8_t rc = 0;
        std::size_t n =
            authority_.write_answer(q, plan, out, response_limit(authority_, q, from.via), &rc);
        count_answer(rc, n > 2 && (out[2] & (flag::tc >> 8)) != 0);
        return n;
    };
    auto servfail = [&] {
        count_answer(rcode::servfail, false);
        return write_error(q, rcode::servfail, authority_.max_udp(), out);
    };
    if (gate_ == nullptr) return answer();
    switch (gate_->on_query(plan.vm)) {
        case vm_gate::verdict::answer_now:
            return answer();
        case vm_gate::verdict::servfail:
            return servfail();
        case vm_gate::verdict::wait:
            break;
    }
    if (from.via == transport::tcp && !from.conn->may_defer()) return servfail();
    auto id = waits_.acquire();
    if (!id) {
        ++stats_.wait_overflow;
        return servfail();
    }
    waiting& w = waits_[id->index];
    w.q = q;
    w.plan = plan;
    w.to = own(from);
    ++stats_.waited;
    if (from.via == transport::tcp) from.conn->deferred();
    gate_->wait_ready(plan.vm, [alive = alive_, self = this, slot = *id](bool ok) {
        if (*alive) self->wait_done(slot, ok);
    });
    return 0;
}

void server_impl::wait_done(detail::slot_id id, bool ok) {
    if (!waits_.valid(id)) return;  // called twice: ignore
    waiting& w = waits_[id.index];
    if (!stopped_) {
        std::size_t n = 0;
        if (ok) {
            std::uint8_t rc = 0;
            n = authority_.write_answer(w.q, w.plan, scratch_out_,
                                        response_limit(authority_, w.q, w.to.via), &rc);
            count_answer(rc, n > 2 && (scratch_out_[2] & (flag::tc >> 8)) != 0);
        } else {
            count_answer(rcode::servfail, false);
            n = write_error(w.q, rcode::servfail, authority_.max_udp(), scratch_out_);
        }
        deliver(w.to, std::span(scratch_out_.data(), n));
    }
    if (w.to.via == transport::tcp)
        if (auto c = w.to.conn.lock()) c->deferred_done();
    w.to.conn.reset();
    waits_.release(id.index);
}

void server_impl::deliver_servfail(const detail::client& to, const query& q) {
    count_answer(rcode::servfail, false);
    std::size_t n = write_error(q, rcode::servfail, authority_.max_udp(), scratch_out_);
    deliver(to, std::span(scratch_out_.data(), n));
}

void server_impl::deliver(const detail::client& to, std::span<const std::uint8_t> answer) {
    if (stopped_ || answer.empty()) return;
    if (to.via == transport::tcp) {
        if (auto c = to.conn.lock()) c->send(answer);
        return;
    }
    ssize_t n = ::sendto(udp_.native_handle(), answer.data(), answer.size(), MSG_DONTWAIT,
                         reinterpret_cast<const sockaddr*>(&to.addr), to.addr_len);
    if (n < 0) ++stats_.dropped;
}

// ---- the public face ----

server::server(asio::io_context& io, server_options options, authority_config authority,
               vm_gate* gate)
    : impl_(std::make_unique<server_impl>(io, std::move(options), authority, gate)) {}
server::~server() = default;
void server::start() { impl_->start(); }
void server::stop() { impl_->stop(); }
std::uint16_t server::udp_port() const { return impl_->udp_port(); }
std::uint16_t server::tcp_port() const { return impl_->tcp_port(); }
const server_stats& server::stats() const { return impl_->stats(); }

}  // namespace jitsu::dns
