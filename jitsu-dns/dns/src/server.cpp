// The server: sockets, the per-query decision (answer, gate, forward) and delivery of
// deferred answers. See server_core.h for the shape.
#include <algorithm>
#include <boost/asio/ip/v6_only.hpp>
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
constexpr int bind_attempts = 16;       // port 0: find a port free for every socket
constexpr auto accept_error_pause = std::chrono::milliseconds(100);

std::string where(const asio::ip::address& a, std::uint16_t port) {
    return a.to_string() + " port " + std::to_string(port);
}

bool any_v4(const std::vector<asio::ip::address>& list) {
    return std::any_of(list.begin(), list.end(), [](const auto& a) { return a.is_v4(); });
}
}  // namespace

server_impl::server_impl(asio::io_context& io, server_options options,
                         const authority_config& authority, vm_gate* gate)
    : io_(io),
      options_(std::move(options)),
      authority_(authority, options_.max_udp),
      gate_(gate),
      batch_(std::make_unique<detail::udp_batch>(
          std::max<std::size_t>(classic_udp_limit, authority_.max_udp()))),
      waits_(options_.max_waiting),
      scratch_out_(max_message_size) {
    check_bind_list();
    bind_sockets();
    if (options_.forwarder) forwarder_ = std::make_unique<forwarder>(*this, *options_.forwarder);
}

server_impl::~server_impl() {
    stop();
    forwarder_.reset();
    *alive_ = false;
}

// A wildcard takes every address of its family (`::` alone takes IPv4 too): a specific
// address beside it could not be bound on the same port, so say why in one line.
void server_impl::check_bind_list() const {
    const auto& list = options_.bind;
    if (list.empty()) throw std::runtime_error("no address to serve DNS on");
    const bool dual_stack = !any_v4(list);
    for (std::size_t i = 0; i < list.size(); ++i) {
        for (std::size_t j = 0; j < list.size(); ++j) {
            if (i == j) continue;
            const auto& a = list[i];
            const auto& b = list[j];
            const bool covers = a.is_unspecified() && (a.is_v4() == b.is_v4() || dual_stack);
            if (a == b || covers) {
                throw std::runtime_error("cannot serve DNS on " + b.to_string() + " and " +
                                         a.to_string() +
                                         (a == b ? ": listed twice" : ": the wildcard covers it"));
            }
        }
    }
}

// Binds a UDP socket and a TCP listener on every address, on `port` (0: the first UDP
// socket's ephemeral port for all). On failure closes what was opened and names the
// address that failed.
bool server_impl::try_bind(std::uint16_t port, boost::system::error_code& ec, std::string& failed) {
    const bool v6_only = any_v4(options_.bind);
    for (const auto& a : options_.bind) {
        udp::endpoint ue(a, port);
        udp::socket u(io_);
        u.open(ue.protocol(), ec);
        if (!ec && a.is_v6()) u.set_option(asio::ip::v6_only(v6_only || !a.is_unspecified()), ec);
        if (!ec && !detail::enable_destination_info(u.native_handle(), a.is_v6()))
            ec.assign(errno, boost::system::system_category());
        if (!ec) u.bind(ue, ec);
        if (ec) {
            failed = "UDP " + where(a, port);
            return false;
        }
        if (port == 0) port = u.local_endpoint().port();
        tcp::endpoint te(a, port);
        tcp::acceptor t(io_);
        t.open(te.protocol(), ec);
        if (!ec) t.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec && a.is_v6()) t.set_option(asio::ip::v6_only(v6_only || !a.is_unspecified()), ec);
        if (!ec) t.bind(te, ec);
        if (!ec) t.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            failed = "TCP " + where(a, port);
            return false;
        }
        udp_.push_back(std::move(u));
        acceptors_.push_back(std::move(t));
    }
    udp_port_ = tcp_port_ = port;
    return true;
}

void server_impl::bind_sockets() {
    for (int attempt = 0;; ++attempt) {
        boost::system::error_code ec;
        std::string failed;
        if (try_bind(options_.port, ec, failed)) break;
        udp_.clear();
        acceptors_.clear();
        // A fixed port is an error; an ephemeral port taken on another socket: retry.
        if (options_.port != 0 || attempt + 1 == bind_attempts)
            throw std::runtime_error("cannot bind " + failed + ": " + ec.message());
    }
    for (auto& u : udp_) {
        boost::system::error_code ignored;  // best effort: capped by net.core.[rw]mem_max
        u.set_option(asio::socket_base::receive_buffer_size(socket_buffer), ignored);
        u.set_option(asio::socket_base::send_buffer_size(socket_buffer), ignored);
        u.non_blocking(true);
    }
    for (std::size_t i = 0; i < acceptors_.size(); ++i) accept_pause_.emplace_back(io_);
}

void server_impl::start() {
    for (std::size_t i = 0; i < udp_.size(); ++i) arm_udp(i);
    for (std::size_t i = 0; i < acceptors_.size(); ++i) accept_next(i);
    if (forwarder_) forwarder_->start();
}

void server_impl::stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ignored;
    for (auto& u : udp_) u.close(ignored);
    for (auto& t : acceptors_) t.close(ignored);
    for (auto& p : accept_pause_) p.cancel();
    for (auto* c : connections_.all()) c->close();
    if (forwarder_) forwarder_->stop();
    // Gate waiters stay registered: the gate calls each exactly once; wait_done() then
    // only frees its slot.
}

void server_impl::arm_udp(std::size_t socket) {
    udp_[socket].async_wait(udp::socket::wait_read,
                            [this, socket, alive = alive_](boost::system::error_code ec) {
                                if (!*alive || ec) return;
                                on_udp_readable(socket);
                            });
}

void server_impl::on_udp_readable(std::size_t socket) {
    const int fd = udp_[socket].native_handle();
    detail::udp_batch& b = *batch_;
    for (int round = 0; round < udp_rounds; ++round) {
        std::size_t n = b.receive(fd);
        for (std::size_t i = 0; i < n; ++i) {
            ++stats_.queries_udp;
            if (b.query_truncated(i)) {
                ++stats_.dropped;
                continue;
            }
            detail::client_ref from{transport::udp,    b.source(i), b.source_length(i),
                                    &b.destination(i), socket,      nullptr};
            std::size_t size = handle(b.query(i), from, b.answer_buffer(i));
            if (size > 0) b.queue(i, size);
        }
        stats_.dropped += b.flush(fd);
        if (n < detail::udp_batch::size) break;
    }
    if (!stopped_) arm_udp(socket);
}

void server_impl::accept_next(std::size_t acceptor) {
    acceptors_[acceptor].async_accept(
        [this, acceptor, alive = alive_](boost::system::error_code ec, tcp::socket s) {
            if (!*alive || stopped_) return;
            if (ec) {
                // Out of file descriptors and the like: try again a little later instead
                // of spinning on an error that will not go away at once.
                ++stats_.tcp_accept_errors;
                auto& pause = accept_pause_[acceptor];
                pause.expires_after(accept_error_pause);
                pause.async_wait([this, acceptor, alive](boost::system::error_code e) {
                    if (*alive && !e && !stopped_) accept_next(acceptor);
                });
                return;
            }
            admit(std::move(s));
            accept_next(acceptor);
        });
}

// The per-client limit first (a client at its share is refused: it only ever competes
// with itself), then the table: full means closing the idlest connection of the client
// holding the most, so that newcomers are served while idle ones wait.
void server_impl::admit(tcp::socket s) {
    boost::system::error_code ec;
    const auto remote = s.remote_endpoint(ec);
    if (ec) return;  // already gone
    const auto client = detail::client_key_of(remote.address());
    if (connections_.held_by(client) >= options_.max_tcp_per_client) {
        ++stats_.tcp_rejected_per_client;
        s.close(ec);
        return;
    }
    if (connections_.size() >= options_.max_tcp_connections) {
        detail::tcp_connection* victim = connections_.victim();
        if (victim == nullptr) {
            ++stats_.tcp_rejected;
            s.close(ec);
            return;
        }
        ++stats_.tcp_evicted;
        victim->close();  // leaves the table now
    }
    auto c = std::make_shared<detail::tcp_connection>(*this, std::move(s), remote.address());
    connections_.add(c.get());
    c->start();
}

detail::client server_impl::own(const detail::client_ref& from) {
    detail::client c;
    c.via = from.via;
    if (from.via == transport::udp) {
        std::memcpy(&c.addr, from.addr, std::min<std::size_t>(from.addr_len, sizeof c.addr));
        c.addr_len = from.addr_len;
        if (from.local != nullptr) c.local = *from.local;
        c.socket = from.socket;
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
    if (to.socket >= udp_.size()) return;
    iovec iov{const_cast<std::uint8_t*>(answer.data()), answer.size()};
    msghdr h{};
    h.msg_name = const_cast<sockaddr_storage*>(&to.addr);
    h.msg_namelen = to.addr_len;
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    detail::set_reply_source(h, to.local, deliver_control_);
    ssize_t n = ::sendmsg(udp_[to.socket].native_handle(), &h, MSG_DONTWAIT);
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
