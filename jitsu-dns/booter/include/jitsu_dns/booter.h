#pragma once
// The booter: jitsu-dns's vm_gate. A query for a stopped VM boots it through the backend
// (once, however many queries arrive meanwhile); its answers are released as the VM's
// masking mode says (response_delay, wait_for_key, wait_for_port, use_synjitsu); idle
// VMs are stopped after 2xTTL; VMs that die on their own are noticed; the state tree is
// kept current.
//
// Everything runs on the DNS event loop; backend calls go through the backend_worker.
// Life: construct, co_await start() (reconcile + publish the tree), serve, co_await
// shutdown().

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "jitsu_dns/backend.h"
#include "jitsu_dns/backend_worker.h"
#include "jitsu_dns/idle_stopper.h"
#include "jitsu_dns/port_probe.h"
#include "jitsu_dns/state_tree.h"
#include "jitsu_dns/vm_gate.h"
#include "jitsu_dns/vm_spec.h"
#include "jitsu_dns/vm_state.h"
#include "jitsu_dns/xenstore_signals.h"
#include "xenstore/client.h"

namespace jitsu::dns {

struct booter_options {
    // Write /synjitsu/booting/<ip> for use_synjitsu VMs (--synjitsu). The catalog is
    // checked at start: a use_synjitsu VM without it is a configuration error.
    bool synjitsu = false;
    // How often idle VMs are looked for; idle stop happens within this of 2xTTL.
    std::chrono::milliseconds idle_check{100};
    // How often the backend is asked whether running VMs are still alive.
    std::chrono::milliseconds status_poll{1000};
    // last_request reaches the tree at most this often per VM.
    std::chrono::milliseconds last_request_flush{1000};
    // After a failed boot, queries get SERVFAIL at once for this long.
    std::chrono::milliseconds retry_backoff{1000};
    // wait_for_key / wait_for_port without a timeout in the spec waits this long.
    std::chrono::milliseconds default_wait_timeout{10000};
    // wait_for_port's probes (the total is the VM's wait timeout).
    port_probe_timing port_probe{};
};

struct booter_stats {
    std::uint64_t queries = 0, boots = 0, boot_failures = 0, resumes = 0, stops = 0,
                  stop_failures = 0, deaths = 0, adopted = 0, wait_timeouts = 0, answers_held = 0,
                  answers_released = 0, answers_failed = 0;
    // wait_for_port: probe loops run (one per boot, however many queries wait), connects
    // they started (counted when a loop ends). Their timeouts count in wait_timeouts.
    std::uint64_t port_waits = 0, port_probes = 0;
};

class booter final : public vm_gate {
  public:
    // `catalog` (validated), `be` and `xs` must outlive the booter. `xs` is connected and
    // runs on `loop`.
    booter(boost::asio::any_io_executor loop, const std::vector<vm_spec>& catalog, backend& be,
           xenstore::client& xs, booter_options options);
    ~booter() override;
    booter(const booter&) = delete;
    booter& operator=(const booter&) = delete;

    // Reconciles with the backend (VMs already running are adopted: running, domid, idle
    // timer from now; never booted twice), clears our stale /synjitsu/booting nodes,
    // publishes /jitsu/vm and starts the timers. Throws std::runtime_error (one line) if
    // the state tree cannot be written.
    boost::asio::awaitable<void> start();

    // vm_gate
    verdict on_query(std::size_t vm) noexcept override;
    void wait_ready(std::size_t vm, std::function<void(bool ok)> done) override;

    // Stops the timers, answers every held query with SERVFAIL, waits for the backend
    // call under way; with `stop_vms` stops every VM that runs (its stop mode); writes the
    // final state. VMs are otherwise left as they are.
    boost::asio::awaitable<void> shutdown(bool stop_vms);

    vm_phase phase(std::size_t vm) const { return vms_.at(vm).phase; }
    const vm_runtime& runtime(std::size_t vm) const { return vms_.at(vm); }
    const booter_stats& stats() const { return stats_; }
    std::size_t size() const { return vms_.size(); }

  private:
    friend class idle_stopper;

    // Phase changes: bump the epoch, update the tree.
    void enter(std::size_t vm, vm_phase phase);
    void publish(std::size_t vm);
    void release(std::size_t vm, bool ok);
    void begin_boot(std::size_t vm);
    void begin_resume(std::size_t vm);
    void begin_stop(std::size_t vm, stop_mode mode, const char* why);
    boost::asio::awaitable<void> boot(std::size_t vm, std::uint64_t epoch);
    boost::asio::awaitable<void> resume(std::size_t vm, std::uint64_t epoch);
    boost::asio::awaitable<void> stop(std::size_t vm, stop_mode mode, std::uint64_t epoch);
    void mode_satisfied(std::size_t vm, std::uint64_t epoch, const char* how);
    // After a mode's wait (key or port): response_delay more, then mode_satisfied.
    void satisfy_after_delay(std::size_t vm, std::uint64_t epoch, const char* how);
    void start_key_wait(std::size_t vm, std::uint64_t epoch);
    void start_port_wait(std::size_t vm, std::uint64_t epoch);
    std::chrono::milliseconds wait_timeout(const vm_spec& spec) const;
    void boot_failed(std::size_t vm, std::string error);
    void became_stopped(std::size_t vm);
    // use_synjitsu: /synjitsu/booting/<ip> handling.
    void watch_until_managed(std::size_t vm);
    void withdraw(std::size_t vm, const char* why);
    // Periodic work (idle_stopper calls these).
    void check_idle(steady_time now);
    void flush_last_requests(steady_time now);
    boost::asio::awaitable<void> poll_status();

    boost::asio::any_io_executor loop_;
    const std::vector<vm_spec>& catalog_;
    xenstore::client& xs_;
    booter_options options_;
    std::vector<vm_runtime> vms_;
    // Per VM: the mode wait (wait_for_key, wait_for_port) or the managed watch
    // (use_synjitsu) under way.
    std::vector<std::shared_ptr<pending_signal>> mode_wait_;
    std::vector<std::shared_ptr<pending_signal>> managed_watch_;
    std::vector<std::unique_ptr<boost::asio::steady_timer>> delay_timer_;
    state_tree tree_;
    backend_worker worker_;
    std::unique_ptr<idle_stopper> idle_;
    booter_stats stats_;
    bool started_ = false;
    bool shutting_down_ = false;
    std::size_t flows_ = 0;  // boot/resume/stop coroutines under way
};

}  // namespace jitsu::dns
