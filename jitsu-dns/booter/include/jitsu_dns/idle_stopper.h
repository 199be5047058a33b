#pragma once
// The booter's clock: one periodic timer that finds idle VMs (no query for 2xTTL),
// writes coalesced last_request times, and asks the backend whether running VMs are
// still alive (more often while a boot is unconfirmed). Decisions are the booter's; this only says
// when.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>

#include "jitsu_dns/vm_spec.h"
#include "jitsu_dns/vm_state.h"

namespace jitsu::dns {

class booter;

// When a VM in `rt` becomes idle: max(last query, running since) + 2xTTL; nullopt when it
// never idles (not running, or ttl 0 = keep running).
std::optional<steady_time> idle_deadline(const vm_spec& spec, const vm_runtime& rt);

class idle_stopper {
  public:
    idle_stopper(boost::asio::any_io_executor loop, booter& owner);
    void start();
    void stop();

  private:
    void arm();
    void tick();

    booter& owner_;
    boost::asio::steady_timer timer_;
    steady_time next_flush_{}, last_poll_{};
    bool running_ = false;
};

}  // namespace jitsu::dns
