#include "forwarder.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "jitsu_dns/responder.h"
#include "server_core.h"
#include "tcp_connection.h"

namespace jitsu::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {
// Upstream ids are unique among pending forwards; the table can never fill the id space.
constexpr std::size_t max_pending_cap = 32768;
constexpr int receive_rounds = 64;  // replies read per readiness before yielding
}  // namespace

forwarder::forwarder(server_impl& server, udp::endpoint upstream)
    : server_(server),
      alive_(server.alive()),
      upstream_(upstream),
      socket_(server.io()),
      timer_(server.io()),
      slots_(std::min(server.options().max_forward_pending, max_pending_cap)),
      by_id_(65536, -1),
      send_buffer_(max_message_size),
      receive_buffer_(max_message_size) {
    socket_.open(upstream_.protocol());
    // Any local address, a port the kernel picks (random ephemeral port).
    socket_.bind(udp::endpoint(upstream_.protocol(), 0));
    socket_.non_blocking(true);
}

forwarder::~forwarder() { stop(); }

void forwarder::start() { arm_receive(); }

void forwarder::stop() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    for (std::uint32_t i = head_; i != none;) {
        std::uint32_t next = slots_[i].next;
        finish(i);
        i = next;
    }
}

forwarder::result forwarder::forward(std::span<const std::uint8_t> message, const query& q,
                                     const detail::client_ref& from) {
    if (!socket_.is_open() || message.size() > max_message_size) return result::failed;
    auto id = slots_.acquire();
    if (!id) return result::full;
    // A fresh id not used by any pending forward: random tries, then a scan from a random
    // start (the table holds at most half the id space, so the scan ends quickly).
    std::uint16_t upstream_id = ids_.next();
    for (int tries = 0; by_id_[upstream_id] >= 0 && tries < 16; ++tries) upstream_id = ids_.next();
    while (by_id_[upstream_id] >= 0) ++upstream_id;

    std::memcpy(send_buffer_.data(), message.data(), message.size());
    store_be16(send_buffer_.data(), upstream_id);
    ssize_t n = ::sendto(socket_.native_handle(), send_buffer_.data(), message.size(), MSG_DONTWAIT,
                         upstream_.data(), upstream_.size());
    if (n != static_cast<ssize_t>(message.size())) {
        slots_.release(id->index);
        return result::failed;
    }
    pending_forward& p = slots_[id->index];
    p.q = q;
    p.to = server_impl::own(from);
    p.upstream_id = upstream_id;
    p.deadline = std::chrono::steady_clock::now() + server_.options().forward_timeout;
    p.tcp.reset();
    if (from.via == transport::tcp)
        p.message.assign(send_buffer_.begin(),
                         send_buffer_.begin() + static_cast<std::ptrdiff_t>(message.size()));
    else
        p.message.clear();
    by_id_[upstream_id] = static_cast<std::int32_t>(id->index);
    // Append to the deadline list (same timeout for all: insertion order is deadline order).
    p.prev = tail_;
    p.next = none;
    if (tail_ != none) slots_[tail_].next = id->index;
    tail_ = id->index;
    if (head_ == none) head_ = id->index;
    arm_timer();
    return result::sent;
}

void forwarder::arm_receive() {
    socket_.async_wait(udp::socket::wait_read,
                       [this, alive = alive_](boost::system::error_code ec) {
                           if (!*alive || ec) return;
                           on_readable();
                       });
}

void forwarder::on_readable() {
    for (int round = 0; round < receive_rounds; ++round) {
        udp::endpoint from;
        socklen_t from_len = static_cast<socklen_t>(from.capacity());
        ssize_t n = ::recvfrom(socket_.native_handle(), receive_buffer_.data(),
                               receive_buffer_.size(), MSG_DONTWAIT, from.data(), &from_len);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;  // EAGAIN: drained (or an ICMP error reported on the socket)
        }
        from.resize(from_len);
        if (from != upstream_) {  // only the upstream's address AND port may answer
            ++server_.stats().forward_replies_ignored;
            continue;
        }
        accept_reply(std::span(receive_buffer_.data(), static_cast<std::size_t>(n)));
    }
    if (socket_.is_open()) arm_receive();
}

bool forwarder::matches(const pending_forward& p, const query& r) const {
    return r.qtype == p.q.qtype && r.qclass == p.q.qclass && r.name_length == p.q.name_length &&
           std::memcmp(r.lower.data(), p.q.lower.data(), r.name_length) == 0;
}

void forwarder::accept_reply(std::span<std::uint8_t> reply) {
    if (!parse_response_question(reply, reply_question_) ||
        (reply_question_.flags & flag::qr) == 0) {
        ++server_.stats().forward_replies_ignored;
        return;
    }
    std::int32_t index = by_id_[reply_question_.id];
    if (index < 0) {
        ++server_.stats().forward_replies_ignored;
        return;
    }
    pending_forward& p = slots_[static_cast<std::uint32_t>(index)];
    // A wrong question is ignored, not fatal: the genuine reply may still come.
    if (!matches(p, reply_question_) || p.tcp) {
        ++server_.stats().forward_replies_ignored;
        return;
    }
    if ((reply_question_.flags & flag::tc) != 0 && p.to.via == transport::tcp) {
        ++server_.stats().forward_tcp_retries;
        detail::slot_id id = slots_.id_of(static_cast<std::uint32_t>(index));
        p.tcp = std::make_shared<tcp::socket>(server_.io());
        asio::co_spawn(
            server_.io(), [this, id] { return retry_over_tcp(id); }, asio::detached);
        return;
    }
    relay(static_cast<std::uint32_t>(index), reply);
}

void forwarder::relay(std::uint32_t index, std::span<std::uint8_t> reply) {
    pending_forward& p = slots_[index];
    store_be16(reply.data(), p.q.id);
    ++server_.stats().forward_answered;
    if (p.to.via == transport::udp &&
        reply.size() > udp_response_limit(p.q, server_.options().max_udp)) {
        std::array<std::uint8_t, 512> small{};
        std::size_t n = write_truncated(p.q, server_.options().max_udp, small);
        server_.count_answer(rcode::noerror, true);
        server_.deliver(p.to, std::span(small.data(), n));
    } else {
        server_.count_answer(header_view(reply.data()).rcode(), (reply[2] & (flag::tc >> 8)) != 0);
        server_.deliver(p.to, reply);
    }
    finish(index);
}

void forwarder::finish(std::uint32_t index) {
    if (!slots_.used(index)) return;
    pending_forward& p = slots_[index];
    if (p.prev != none)
        slots_[p.prev].next = p.next;
    else
        head_ = p.next;
    if (p.next != none)
        slots_[p.next].prev = p.prev;
    else
        tail_ = p.prev;
    by_id_[p.upstream_id] = -1;
    if (p.tcp) {
        boost::system::error_code ignored;
        p.tcp->close(ignored);
        p.tcp.reset();
    }
    if (p.to.via == transport::tcp)
        if (auto c = p.to.conn.lock()) c->deferred_done();
    p.to.conn.reset();
    slots_.release(index);
}

void forwarder::arm_timer() {
    if (timer_armed_ || head_ == none) return;
    timer_armed_ = true;
    timer_.expires_at(slots_[head_].deadline);
    timer_.async_wait([this, alive = alive_](boost::system::error_code) {
        if (!*alive) return;
        timer_armed_ = false;
        on_timer();
    });
}

void forwarder::on_timer() {
    auto now = std::chrono::steady_clock::now();
    while (head_ != none && slots_[head_].deadline <= now) {
        std::uint32_t i = head_;
        ++server_.stats().forward_timeouts;
        server_.deliver_servfail(slots_[i].to, slots_[i].q);
        finish(i);
    }
    if (socket_.is_open()) arm_timer();
}

asio::awaitable<void> forwarder::retry_over_tcp(detail::slot_id id) {
    auto alive = alive_;
    std::shared_ptr<tcp::socket> sock = slots_[id.index].tcp;
    std::vector<std::uint8_t> frame(2 + slots_[id.index].message.size());
    store_be16(frame.data(), static_cast<std::uint16_t>(frame.size() - 2));
    std::copy(slots_[id.index].message.begin(), slots_[id.index].message.end(), frame.begin() + 2);
    boost::system::error_code ec;
    auto step_failed = [&] { return !*alive || !slots_.valid(id) || ec; };

    co_await sock->async_connect(tcp::endpoint(upstream_.address(), upstream_.port()),
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (!step_failed())
        co_await asio::async_write(*sock, asio::buffer(frame),
                                   asio::redirect_error(asio::use_awaitable, ec));
    std::array<std::uint8_t, 2> prefix{};
    if (!step_failed())
        co_await asio::async_read(*sock, asio::buffer(prefix),
                                  asio::redirect_error(asio::use_awaitable, ec));
    std::vector<std::uint8_t> reply;
    if (!step_failed()) {
        reply.resize(load_be16(prefix.data()));
        co_await asio::async_read(*sock, asio::buffer(reply),
                                  asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!*alive || !slots_.valid(id)) co_return;  // timed out or stopped meanwhile
    pending_forward& p = slots_[id.index];
    bool good = !ec && parse_response_question(reply, reply_question_) &&
                (reply_question_.flags & flag::qr) != 0 && reply_question_.id == p.upstream_id &&
                matches(p, reply_question_);
    if (!good) {
        if (!ec) ++server_.stats().forward_replies_ignored;
        server_.deliver_servfail(p.to, p.q);
        finish(id.index);
        co_return;
    }
    relay(id.index, reply);
}

}  // namespace jitsu::dns
