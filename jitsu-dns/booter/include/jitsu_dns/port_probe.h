#pragma once
// wait_for_port: learn when a booting VM's service accepts TCP, by connecting to it from
// jitsu-dns's own network namespace. Non-blocking connects on the event loop, one at a
// time: an attempt ends with a connection (done), a refusal or error (the VM is up but
// not listening yet, or not reachable: the next attempt follows after `interval`), or no
// answer within `attempt_timeout` (the SYN was lost, e.g. the VM was not on the wire yet,
// or its address is still being resolved: abandoned, next attempt after `interval`). The
// whole wait is bounded by `total` (the VM's wait_timeout).
//
// A successful probe connection is closed at once (FIN): the service sees one empty
// connection. The probe's source is jitsu-dns's own address, never a client's.
//
// Note on latency: the probes reach the VM once the kernel has resolved its MAC. A VM that
// announces itself when it comes up (gratuitous ARP, as jitsu-netvm does) is found within
// one attempt; one that stays silent is found when the kernel's next ARP request goes out
// (Linux: retrans_time_ms, 1 s by default), the probes keeping the resolution going.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/ip_address.h"
#include "jitsu_dns/pending_signal.h"

namespace jitsu::dns {

struct port_probe_timing {
    std::chrono::milliseconds interval{20};
    std::chrono::milliseconds attempt_timeout{100};
    std::chrono::milliseconds total{5000};
};

struct port_probe_result {
    bool accepted = false;
    std::uint32_t attempts = 0;  // connects started
    std::string last_error;      // why the last failed attempt failed ("" if none failed)
};

// Probes ip:port until it accepts or timing.total passes, then calls `done` once on `loop`
// (never from inside this call; never after cancel()).
std::shared_ptr<pending_signal> wait_for_port(boost::asio::any_io_executor loop,
                                              const ip_address& ip, std::uint16_t port,
                                              port_probe_timing timing,
                                              std::function<void(const port_probe_result&)> done);

}  // namespace jitsu::dns
