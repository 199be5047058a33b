#include "jitsu_dns/idle_stopper.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "jitsu_dns/booter.h"

namespace jitsu::dns {

std::optional<steady_time> idle_deadline(const vm_spec& spec, const vm_runtime& rt) {
    if (rt.phase != vm_phase::running || spec.ttl == 0) return std::nullopt;
    const steady_time since = std::max(rt.last_query, rt.active_since);
    return since + std::chrono::seconds(2 * static_cast<std::int64_t>(spec.ttl));
}

idle_stopper::idle_stopper(boost::asio::any_io_executor loop, booter& owner)
    : owner_(owner), timer_(loop) {}

void idle_stopper::start() {
    if (running_) return;
    running_ = true;
    const steady_time now = std::chrono::steady_clock::now();
    next_flush_ = now + owner_.options_.last_request_flush;
    last_poll_ = now;
    arm();
}

void idle_stopper::stop() {
    running_ = false;
    timer_.cancel();
}

void idle_stopper::arm() {
    timer_.expires_after(owner_.options_.idle_check);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        // Aborted: stopped, perhaps destroyed; `this` must not be touched.
        if (ec) return;
        if (running_) tick();
    });
}

void idle_stopper::tick() {
    const steady_time now = std::chrono::steady_clock::now();
    owner_.check_idle(now);
    if (now >= next_flush_) {
        next_flush_ = now + owner_.options_.last_request_flush;
        owner_.flush_last_requests(now);
    }
    if (now >= last_poll_ + owner_.poll_interval()) {
        last_poll_ = now;
        boost::asio::co_spawn(timer_.get_executor(), owner_.poll_status(), boost::asio::detached);
    }
    arm();
}

}  // namespace jitsu::dns
