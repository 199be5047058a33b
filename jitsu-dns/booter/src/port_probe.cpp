// wait_for_port's probe loop: one non-blocking connect at a time, driven by callbacks on
// the event loop (see port_probe.h for the policy).
#include "jitsu_dns/port_probe.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace jitsu::dns {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

asio::ip::address to_asio(const ip_address& ip) {
    if (const auto* v4 = ip.if_v4()) return asio::ip::address_v4(v4->to_uint());
    asio::ip::address_v6::bytes_type bytes{};
    const auto& src = ip.v6().bytes();
    std::copy(src.begin(), src.end(), bytes.begin());
    return asio::ip::address_v6(bytes);
}

// Shared: every pending handler holds a strong reference, so the probe lives until its
// last operation has completed (cancel() closes and cancels them all).
class port_probe final : public pending_signal, public std::enable_shared_from_this<port_probe> {
  public:
    using done_fn = std::function<void(const port_probe_result&)>;

    port_probe(asio::any_io_executor loop, tcp::endpoint target, port_probe_timing timing,
               done_fn done)
        : loop_(loop),
          target_(target),
          timing_(timing),
          done_(std::move(done)),
          socket_(loop),
          attempt_timer_(loop),
          pause_timer_(loop),
          deadline_(loop) {}

    void start() {
        deadline_.expires_after(timing_.total);
        deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (!ec) self->finish(false);
        });
        // From the loop: `done` is never called from inside wait_for_port().
        asio::post(loop_, [self = shared_from_this()] { self->attempt(); });
    }

    void cancel() override {
        if (finished_) return;
        finished_ = true;
        done_ = nullptr;
        stop_io();
    }

  private:
    void attempt() {
        if (finished_) return;
        ++result_.attempts;
        const std::uint64_t attempt_no = ++generation_;
        error_code ec;
        socket_.close(ec);
        socket_.open(target_.protocol(), ec);
        if (ec) {  // e.g. out of descriptors: try again later
            failed(fmt::format("socket: {}", ec.message()));
            return;
        }
        timed_out_ = false;
        attempt_timer_.expires_after(timing_.attempt_timeout);
        attempt_timer_.async_wait([self = shared_from_this(), attempt_no](const error_code& ec) {
            if (ec || self->finished_ || attempt_no != self->generation_) return;
            self->timed_out_ = true;
            error_code ignored;
            self->socket_.close(ignored);  // the connect completes with operation_aborted
        });
        socket_.async_connect(
            target_, [self = shared_from_this(), attempt_no](const error_code& ec) {
                if (self->finished_ || attempt_no != self->generation_) return;
                self->attempt_timer_.cancel();
                if (!ec) {
                    self->finish(true);
                } else if (self->timed_out_) {
                    self->failed(fmt::format("no answer within {} ms",
                                             self->timing_.attempt_timeout.count()));
                } else {
                    self->failed(ec.message());
                }
            });
    }

    void failed(std::string why) {
        result_.last_error = std::move(why);
        pause_timer_.expires_after(timing_.interval);
        pause_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
            if (!ec && !self->finished_) self->attempt();
        });
    }

    void finish(bool accepted) {
        if (finished_) return;
        finished_ = true;
        result_.accepted = accepted;
        stop_io();  // closes the probe connection too: the service sees FIN
        auto done = std::move(done_);
        done_ = nullptr;
        if (done) done(result_);
    }

    void stop_io() {
        error_code ignored;
        socket_.close(ignored);
        attempt_timer_.cancel();
        pause_timer_.cancel();
        deadline_.cancel();
    }

    asio::any_io_executor loop_;
    const tcp::endpoint target_;
    const port_probe_timing timing_;
    done_fn done_;
    tcp::socket socket_;
    asio::steady_timer attempt_timer_, pause_timer_, deadline_;
    port_probe_result result_;
    std::uint64_t generation_ = 0;  // the attempt under way; older handlers are ignored
    bool timed_out_ = false;
    bool finished_ = false;
};

}  // namespace

std::shared_ptr<pending_signal> wait_for_port(asio::any_io_executor loop, const ip_address& ip,
                                              std::uint16_t port, port_probe_timing timing,
                                              std::function<void(const port_probe_result&)> done) {
    auto probe = std::make_shared<port_probe>(loop, tcp::endpoint(to_asio(ip), port), timing,
                                              std::move(done));
    probe->start();
    return probe;
}

}  // namespace jitsu::dns
