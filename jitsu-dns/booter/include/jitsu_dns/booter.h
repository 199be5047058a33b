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
#include <deque>
#include <memory>
#include <optional>
#include <string>
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
    // After a failed boot, queries get SERVFAIL at once for retry_backoff, doubled with
    // each consecutive failure up to retry_backoff_max; a boot that comes up resets it.
    std::chrono::milliseconds retry_backoff{1000};
    std::chrono::milliseconds retry_backoff_max{60000};
    // A VM whose backend reports progress must say `ready` within its boot_delay plus
    // this; otherwise it is stopped and the boot failed.
    std::chrono::milliseconds boot_timeout{30000};
    // A backend without progress: a VM that ends within boot_grace after its answers went
    // out failed to boot (not a death); until then its status is polled every boot_poll.
    std::chrono::milliseconds boot_grace{10000};
    std::chrono::milliseconds boot_poll{200};
    // --max-booting: VMs booting at once (0: no limit). A query for a stopped VM beyond
    // it queues the VM (its answers held like a booting VM's) while fewer than
    // 4 x max_booting VMs are queued, else SERVFAIL; a queued VM that gets no slot within
    // boot_queue_wait has its held queries answered SERVFAIL.
    std::size_t max_booting = 8;
    std::chrono::milliseconds boot_queue_wait{5000};
    // --max-running: VMs queued, booting, running, resuming or being stopped (0: no
    // limit). A query that would boot or resume one more gets SERVFAIL.
    std::size_t max_running = 64;
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
    // Boots that failed after the backend had started the VM (it ended or never came up;
    // included in boot_failures), of which readiness timeouts; queries answered SERVFAIL
    // during a back-off.
    std::uint64_t boots_ended_early = 0, boot_timeouts = 0, backoff_refusals = 0;
    // The limits: VMs queued for a boot slot, boots refused by --max-booting (queue full
    // or queue wait over) and by --max-running; the most VMs booting at once.
    std::uint64_t boots_queued = 0, boots_refused_booting = 0, boots_refused_running = 0,
                  max_booting_seen = 0;
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
    // VMs holding a boot slot now, VMs waiting for one.
    std::size_t booting_now() const { return booting_now_; }
    std::size_t queued_now() const { return boot_queue_.size(); }
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
    // The error, the failure count and the back-off of a failed boot (or resume).
    void record_failure(std::size_t vm, std::string error);
    // Following a boot the backend started (booter_boot_watch.cpp).
    void watch_boot(std::size_t vm, int progress_fd);
    void on_progress(std::size_t vm, std::uint64_t boot_id, std::optional<std::string> line);
    boost::asio::awaitable<void> on_vm_ended(std::size_t vm, std::uint64_t boot_id);
    void launched(std::size_t vm);
    void confirm(std::size_t vm, const char* how);
    void on_ready_timeout(std::size_t vm, std::uint64_t boot_id);
    void stop_watching(std::size_t vm);
    // The limits (booter_limits.cpp).
    verdict request_boot(std::size_t vm);
    std::size_t active_count() const;
    void free_boot_slot(std::size_t vm);
    void start_queued();
    void expire_queue(steady_time now);
    void confirm_quiet_boots(steady_time now);
    void became_stopped(std::size_t vm);
    // use_synjitsu: /synjitsu/booting/<ip> handling.
    void watch_until_managed(std::size_t vm);
    void withdraw(std::size_t vm, const char* why);
    // Periodic work (idle_stopper calls these).
    void check_idle(steady_time now);
    void flush_last_requests(steady_time now);
    boost::asio::awaitable<void> poll_status();
    // How often poll_status should run now: boot_poll while a VM without progress is
    // unconfirmed, else status_poll.
    std::chrono::milliseconds poll_interval() const;

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
    // Per VM: the progress reader and the readiness timer of the boot under way.
    std::vector<std::shared_ptr<pending_signal>> progress_;
    std::vector<std::unique_ptr<boost::asio::steady_timer>> ready_timer_;
    // VMs waiting for a boot slot, oldest first; VMs holding one.
    std::deque<std::size_t> boot_queue_;
    std::size_t booting_now_ = 0;
    state_tree tree_;
    backend_worker worker_;
    std::unique_ptr<idle_stopper> idle_;
    booter_stats stats_;
    bool started_ = false;
    bool shutting_down_ = false;
    std::size_t flows_ = 0;  // boot/resume/stop coroutines under way
};

}  // namespace jitsu::dns
