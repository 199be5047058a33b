#pragma once
// host_replay: synjitsu replays the queue itself for VMs registered with replay=host
// (common/booting_value.h): unmodified guests, whose stack knows nothing of Xenstore.
// Per VM, from its registration:
//
//   ports   = the ports= hints ∪ the destination ports of the SYNs queued for it
//             (at most host_replay_limits::max_ports; later ones are not probed)
//   probing : every `interval`, one probe SYN per port not yet accepted, from
//             synjitsu's own namespace (prober; live: a half-open handshake, so the
//             VM's service never accepts a probe connection, tcp_prober.h); each
//             attempt is abandoned after `attempt_timeout` (a SYN lost while the VM is
//             down), so attempts overlap and a VM that comes up is seen within one
//             interval. Refused (RST: the kernel is up, nothing listens yet), timed
//             out, failed: keep probing. A probe's SYN is never queued: its 4-tuple is
//             excluded in the booting table from before the SYN leaves until
//             `exclusion_grace` after the probe ended (booting_table::exclude).
//   success : every port has accepted once -> take the queue (queue_taker: syn-take's
//             take-over, /ip/<ip> = managed, records removed) and hand the taken SYNs to
//             the engine, which sends each to the VM's MAC (checksums repaired) and stops
//             serving the VM. A take that fails is retried every interval.
//   give-up : `give_up` after registration without success -> cancel the probes, take
//             the queue and drop it (so nothing is left and the clients' own
//             retransmissions go to the VM), counted and logged in one line. If even
//             that take fails, synjitsu stops serving the VM and leaves the records.
//   cancel  : the booting entry went away, or the queue was taken by someone else (the
//             VM's own stack) -> stop probing. A take already running still delivers
//             what it took: those records are gone from Xenstore, so only we have them.
//
// No I/O and no clock here: probes and takes go out through interfaces and come back as
// on_probe_result / on_take_done, time is an argument (unix ns, the engine's clock), so
// the unit tests drive every path without sockets (tests/unit/synjitsu/host_replay_test).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "common/ip_address.h"
#include "common/mac_address.h"
#include "common/syn_queue.h"
#include "synjitsu/booting_table.h"
#include "synjitsu/metrics.h"

namespace jitsu::synjitsu {

struct host_replay_limits {
    // Between two attempts on one port (--probe-interval).
    std::uint64_t interval_ns = 10'000'000ULL;
    // An attempt not answered for this long is abandoned (--probe-timeout).
    std::uint64_t attempt_timeout_ns = 250'000'000ULL;
    // From registration: no success by then and synjitsu gives up (--probe-give-up).
    std::uint64_t give_up_ns = 120'000'000'000ULL;
    // Ports probed per VM.
    std::size_t max_ports = 8;
    // Probes in flight at once over all VMs (each holds a file descriptor); attempts
    // due beyond it wait for the next interval.
    std::size_t max_in_flight = 256;
    // A closed probe's 4-tuple stays excluded this long: its SYN may still sit in the
    // capture buffer.
    std::uint64_t exclusion_grace_ns = 1'000'000'000ULL;
    // Recently closed probes remembered at most (the oldest is forgotten early).
    std::size_t max_closed_exclusions = 4096;
    // How often prober::prepare runs again for a VM being probed.
    std::uint64_t prepare_every_ns = 1'000'000'000ULL;
};

enum class probe_outcome : std::uint8_t {
    accepted,  // SYN-ACK: something listens on the port
    refused,   // RST: the VM's kernel is up, nothing listens yet
    failed,    // any other error (no route, unreachable, ...)
};

const char* to_string(probe_outcome o);

using probe_id = std::uint64_t;

// The OS side of a probe (live: tcp_prober, half-open handshakes on the Asio loop).
class prober {
  public:
    virtual ~prober() = default;
    // Sends a TCP SYN to ip:port without blocking. The returned 4-tuple (seen from the
    // VM: local = ip:port) is the SYN's, exact before it leaves. The outcome is reported
    // later through host_replay::on_probe_result, never from within this call. nullopt
    // (with `ec`): it could not even start.
    virtual std::optional<four_tuple> start(probe_id id, const ip_address& ip, std::uint16_t port,
                                            std::error_code& ec) = 0;
    // Abandons a probe (frees its source port); no outcome is reported for it.
    virtual void cancel(probe_id id) = 0;
    // A VM is (still) being probed: e.g. seed the neighbour cache with its MAC, so a
    // probe needs no ARP round trip to a VM that may not answer one yet.
    virtual void prepare(const ip_address& ip, const mac_address& mac) = 0;
};

// What a take brought back.
struct take_outcome {
    bool ok = false;
    std::vector<queued_syn> syns{};  // sorted for replay (time, then 4-tuple)
    std::size_t malformed = 0;       // records removed without being returned
    std::string error{};             // when !ok
};

// The Xenstore side (live: xenstore_taker over syn-take's take_queued_syns).
class queue_taker {
  public:
    virtual ~queue_taker() = default;
    // Takes ip's queue in one take-over (records removed, /ip/<ip> = managed). The
    // outcome is reported later through host_replay::on_take_done(ticket, ...).
    virtual void take(std::uint64_t ticket, const ip_address& ip) = 0;
};

// How a VM's host replay ended, for the engine (which sends the SYNs and stops serving).
struct host_replay_result {
    enum class kind : std::uint8_t {
        replayed,   // taken after the probes succeeded: send `syns` to the VM
        gave_up,    // taken at the give-up: `syns` are dropped
        abandoned,  // give-up and its take failed: records left, stop serving anyway
    };
    kind how = kind::replayed;
    ip_address ip{};
    mac_address mac{};
    std::vector<queued_syn> syns{};
    std::uint64_t at_ns = 0;  // when the take completed
};

class host_replay {
  public:
    host_replay(prober& probes, queue_taker& taker, booting_table& table, metrics& m,
                host_replay_limits limits);
    host_replay(const host_replay&) = delete;
    host_replay& operator=(const host_replay&) = delete;

    // A VM registered with replay=host: starts its session (restarts it if present).
    void start(const ip_address& ip, const mac_address& mac, std::span<const std::uint16_t> hints,
               std::uint64_t now_ns);
    // The same VM re-registered with (maybe) other hints: new ones are probed too.
    void add_hints(const ip_address& ip, std::span<const std::uint16_t> hints,
                   std::uint64_t now_ns);
    // A SYN to `port` was queued for `ip`: that port must accept too.
    void add_port(const ip_address& ip, std::uint16_t port, std::uint64_t now_ns);
    // Stops probing `ip` (see the header comment); `why` is logged. No-op if unknown.
    void cancel(const ip_address& ip, const char* why);
    bool probing(const ip_address& ip) const;
    // A take of ours is running for ip (its /ip/<ip> = managed is then ours).
    bool taking(const ip_address& ip) const;

    // Abandons timed-out attempts, gives up, starts due attempts, forgets old exclusions.
    void on_tick(std::uint64_t now_ns);
    // When on_tick next has something to do.
    std::optional<std::uint64_t> next_wakeup() const;
    void on_probe_result(probe_id id, probe_outcome outcome, std::error_code ec,
                         std::uint64_t now_ns);
    void on_take_done(std::uint64_t ticket, take_outcome outcome, std::uint64_t now_ns);

    // The engine: a VM's host replay ended (see host_replay_result).
    void on_finished(std::function<void(host_replay_result&&)> handler) {
        finished_ = std::move(handler);
    }
    // Whenever next_wakeup() may have moved earlier (a runner re-arms its timer).
    void on_schedule_changed(std::function<void()> handler) {
        schedule_changed_ = std::move(handler);
    }

    std::size_t sessions() const { return sessions_.size(); }
    std::size_t in_flight() const { return attempts_.size(); }
    const host_replay_limits& limits() const { return limits_; }
    // Ports of ip's session (tests, logs); empty if none.
    std::vector<std::uint16_t> ports(const ip_address& ip) const;

  private:
    struct port_state {
        std::uint16_t port = 0;
        bool accepted = false;
        std::uint64_t next_attempt_ns = 0;
        std::uint64_t last_attempt_ns = 0;  // 0: never
    };
    struct session {
        ip_address ip{};
        mac_address mac{};
        std::uint64_t started_ns = 0;
        std::uint64_t give_up_ns = 0;
        std::uint64_t next_prepare_ns = 0;
        std::vector<port_state> ports{};
        // A take of ours is running (ticket), or failed and is retried at retry_ns.
        std::optional<std::uint64_t> take_ticket{};
        std::optional<std::uint64_t> retry_take_ns{};
        std::uint32_t attempts = 0, refused = 0, timed_out = 0, failed = 0;
        std::error_code last_error{};
        bool warned_failure = false;
        bool warned_ports = false;
    };
    struct attempt {
        probe_id id = 0;
        ip_address ip{};
        std::uint16_t port = 0;
        std::uint64_t deadline_ns = 0;
        four_tuple tuple{};
    };
    struct pending_take {
        std::uint64_t ticket = 0;
        ip_address ip{};
        mac_address mac{};
        bool give_up = false;
        std::uint64_t started_ns = 0;
    };
    struct closed_probe {
        four_tuple tuple{};
        std::uint64_t expires_ns = 0;
    };

    session* find(const ip_address& ip);
    const session* find(const ip_address& ip) const;
    void add_port_to(session& s, std::uint16_t port, std::uint64_t now_ns);
    void pump(std::uint64_t now_ns);
    void start_attempt(session& s, port_state& p, std::uint64_t now_ns);
    void close_attempt(std::size_t index, std::uint64_t now_ns, bool cancel);
    void cancel_attempts(const ip_address& ip, std::optional<std::uint16_t> port,
                         std::uint64_t now_ns);
    void start_take(session& s, bool give_up, std::uint64_t now_ns);
    void give_up(session& s, std::uint64_t now_ns);
    void erase_session(const ip_address& ip);
    void expire_exclusions(std::uint64_t now_ns);
    void update_gauges();
    void changed();
    void saw(std::uint64_t now_ns) { now_ns_ = std::max(now_ns_, now_ns); }

    prober& probes_;
    queue_taker& taker_;
    booting_table& table_;
    metrics& metrics_;
    host_replay_limits limits_;
    std::vector<session> sessions_;
    std::vector<attempt> attempts_;
    std::vector<pending_take> takes_;
    std::deque<closed_probe> closed_;  // in closing order
    probe_id next_probe_ = 0;
    std::uint64_t next_ticket_ = 0;
    // The latest time any call brought (cancel() has none of its own).
    std::uint64_t now_ns_ = 0;
    std::function<void(host_replay_result&&)> finished_;
    std::function<void()> schedule_changed_;
};

}  // namespace jitsu::synjitsu
