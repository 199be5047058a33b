// The booter's query side: the vm_gate calls, and the boot and resume flows with the four
// masking modes. Stopping, idle checks, status polls, start-up and shutdown are in
// booter_lifecycle.cpp.
#include "jitsu_dns/booter.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <exception>

#include "booter_internal.h"

namespace jitsu::dns {

namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {

const char* mode_name(const vm_spec& spec, bool synjitsu) {
    if (spec.use_synjitsu && synjitsu) return "use_synjitsu";
    if (spec.wait_for_key) return "wait_for_key";
    if (spec.wait_for_port) return "wait_for_port";
    return "response_delay";
}

}  // namespace

booter::booter(asio::any_io_executor loop, const std::vector<vm_spec>& catalog, backend& be,
               xenstore::client& xs, booter_options options)
    : loop_(loop),
      catalog_(catalog),
      xs_(xs),
      options_(options),
      vms_(catalog.size()),
      mode_wait_(catalog.size()),
      managed_watch_(catalog.size()),
      progress_(catalog.size()),
      tree_(xs, catalog),
      worker_(loop, be),
      idle_(std::make_unique<idle_stopper>(loop, *this)) {
    delay_timer_.reserve(catalog.size());
    ready_timer_.reserve(catalog.size());
    for (std::size_t i = 0; i < catalog.size(); ++i) {
        delay_timer_.push_back(std::make_unique<asio::steady_timer>(loop));
        ready_timer_.push_back(std::make_unique<asio::steady_timer>(loop));
    }
}

booter::~booter() {
    idle_->stop();
    for (auto& w : mode_wait_) {
        if (w) w->cancel();
    }
    for (auto& w : managed_watch_) {
        if (w) w->cancel();
    }
    for (auto& w : progress_) {
        if (w) w->cancel();
    }
    worker_.join();
}

vm_gate::verdict booter::on_query(std::size_t vm) noexcept {
    if (vm >= vms_.size()) return verdict::servfail;
    ++stats_.queries;
    vm_runtime& rt = vms_[vm];
    const steady_time now = steady_clock::now();
    // Hot path for a running VM: two stores, no allocation, no Xenstore write (the tree
    // gets last_request from the once-a-second flush).
    rt.last_query = now;
    rt.ever_queried = true;
    rt.last_request_dirty = true;
    switch (rt.phase) {
        case vm_phase::running:
            return verdict::answer_now;
        case vm_phase::booting:
            return rt.answers_released ? verdict::answer_now : verdict::wait;
        case vm_phase::resuming:
        case vm_phase::queued:
            return verdict::wait;
        case vm_phase::stopping:
            // In a back-off: being stopped because its boot failed.
            if (shutting_down_ || now < rt.retry_after) return verdict::servfail;
            rt.wake_after_stop = true;
            return verdict::wait;
        case vm_phase::suspended:
        case vm_phase::stopped:
            break;
    }
    if (shutting_down_ || !started_) return verdict::servfail;
    if (rt.phase == vm_phase::stopped && now < rt.retry_after) {
        // Failed a moment ago: no new attempt (nor spawn) until the back-off is over.
        ++stats_.backoff_refusals;
        return verdict::servfail;
    }
    if (options_.max_running > 0 && active_count() >= options_.max_running) {
        if (stats_.boots_refused_running++ % 1000 == 0) {
            spdlog::warn("{}: not started: --max-running {} reached ({} refused so far)",
                         catalog_[vm].name, options_.max_running, stats_.boots_refused_running);
        }
        return verdict::servfail;
    }
    try {
        if (rt.phase == vm_phase::suspended) {
            begin_resume(vm);
            return verdict::wait;
        }
        return request_boot(vm);
    } catch (const std::exception& e) {
        spdlog::error("{}: cannot start: {}", catalog_[vm].name, e.what());
        return verdict::servfail;
    }
}

void booter::wait_ready(std::size_t vm, std::function<void(bool ok)> done) {
    if (!done) return;
    bool now_ok = false;
    bool decided = vm >= vms_.size() || shutting_down_;
    if (!decided) {
        const vm_runtime& rt = vms_[vm];
        if (rt.phase == vm_phase::running ||
            (rt.phase == vm_phase::booting && rt.answers_released)) {
            decided = now_ok = true;
        } else if (rt.phase == vm_phase::stopped || rt.phase == vm_phase::suspended) {
            decided = true;  // the boot already failed: nothing will release this waiter
        }
    }
    if (decided) {
        // Never from inside wait_ready (the vm_gate contract).
        asio::post(loop_, [done = std::move(done), now_ok]() { done(now_ok); });
        return;
    }
    ++stats_.answers_held;
    vms_[vm].waiters.push_back(std::move(done));
}

void booter::enter(std::size_t vm, vm_phase phase) {
    vm_runtime& rt = vms_[vm];
    rt.phase = phase;
    ++rt.epoch;
    publish(vm);
}

void booter::publish(std::size_t vm) {
    const vm_runtime& rt = vms_[vm];
    tree_.set_state(vm, rt.phase, rt.domid, rt.error);
}

void booter::release(std::size_t vm, bool ok) {
    auto waiters = std::move(vms_[vm].waiters);
    vms_[vm].waiters.clear();
    for (auto& w : waiters) {
        ok ? ++stats_.answers_released : ++stats_.answers_failed;
        w(ok);
    }
}

void booter::begin_boot(std::size_t vm) {
    vm_runtime& rt = vms_[vm];
    rt.answers_released = false;
    rt.wake_after_stop = false;
    rt.step_started = steady_clock::now();
    ++rt.boot_id;
    rt.start_returned = rt.has_progress = rt.launched = rt.confirmed = false;
    rt.satisfied_early = nullptr;
    rt.reported_failure.clear();
    if (!rt.boot_slot) {
        rt.boot_slot = true;
        ++booting_now_;
        stats_.max_booting_seen = std::max<std::uint64_t>(stats_.max_booting_seen, booting_now_);
    }
    enter(vm, vm_phase::booting);
    asio::co_spawn(loop_, boot(vm, rt.epoch), asio::detached);
}

void booter::begin_resume(std::size_t vm) {
    vm_runtime& rt = vms_[vm];
    rt.wake_after_stop = false;
    rt.step_started = steady_clock::now();
    enter(vm, vm_phase::resuming);
    asio::co_spawn(loop_, resume(vm, rt.epoch), asio::detached);
}

asio::awaitable<void> booter::boot(std::size_t vm, std::uint64_t epoch) {
    flow_guard guard(flows_);
    const vm_spec& spec = catalog_[vm];
    vm_runtime& rt = vms_[vm];
    ++stats_.boots;
    const auto address = synjitsu_address(spec);
    const bool synjitsu = spec.use_synjitsu && options_.synjitsu && address.has_value();
    spdlog::info("{}: booting on query ({})", spec.name, mode_name(spec, options_.synjitsu));
    try {
        if (synjitsu) {
            // Before the answer: synjitsu must know the VM when the client's ARP and SYN
            // arrive, which can be one RTT after the answer.
            const std::string value = synjitsu_booting_value(spec);
            auto r = co_await announce_booting(xs_, *address, value);
            if (r.ok()) {
                rt.booting_node = true;
            } else {
                spdlog::error(
                    "{}: writing /synjitsu/booting failed ({}): answering anyway, "
                    "unmasked",
                    spec.name, r.error().message());
            }
            rt.answers_released = true;
            spdlog::info(
                "{}: answers released {:.2f} ms after the query (use_synjitsu, "
                "booting node {} \"{}\")",
                spec.name, ms_since(rt.step_started), r.ok() ? "written" : "NOT written", value);
            release(vm, true);
        }
        struct started_vm {
            vm_status status;
            int progress_fd = -1;
        };
        auto out = co_await worker_.run([&spec](backend& b) {
            started_vm s;
            s.status = b.start(spec);
            s.progress_fd = b.take_progress_fd(spec);
            return s;
        });
        if (!out.ok()) {
            boot_failed(vm, std::move(out.error));
            co_return;
        }
        rt.domid = out.value->status.domid;
        watch_boot(vm, out.value->progress_fd);
        rt.error.reset();
        spdlog::info("{}: backend started it in {:.2f} ms{}", spec.name, ms_since(rt.step_started),
                     rt.domid ? fmt::format(" (domid {})", *rt.domid) : std::string());
        if (shutting_down_) {
            // shutdown() is waiting for this flow: the VM runs, nobody waits for answers.
            mode_satisfied(vm, epoch, "shutting down");
            co_return;
        }
        publish(vm);
        if (synjitsu) {
            if (rt.booting_node) watch_until_managed(vm);
            mode_satisfied(vm, epoch, "use_synjitsu");
        } else if (spec.wait_for_port) {
            start_port_wait(vm, epoch);
        } else if (spec.wait_for_key && rt.domid) {
            start_key_wait(vm, epoch);
        } else {
            if (spec.wait_for_key) {
                spdlog::warn(
                    "{}: the backend gave no domid, so {} cannot be watched: using "
                    "response_delay",
                    spec.name, *spec.wait_for_key);
            }
            satisfy_after_delay(vm, epoch, "response_delay");
        }
    } catch (const std::exception& e) {
        boot_failed(vm, std::string("internal error: ") + e.what());
    }
}

std::chrono::milliseconds booter::wait_timeout(const vm_spec& spec) const {
    return spec.wait_timeout.count() > 0 ? spec.wait_timeout : options_.default_wait_timeout;
}

void booter::start_key_wait(std::size_t vm, std::uint64_t epoch) {
    const std::string path =
        fmt::format("/local/domain/{}/{}", *vms_[vm].domid, *catalog_[vm].wait_for_key);
    mode_wait_[vm] = wait_for_node(
        xs_, path, wait_timeout(catalog_[vm]), [this, vm, epoch, path](bool appeared) {
            mode_wait_[vm].reset();
            if (vms_[vm].epoch != epoch) return;
            if (!appeared) {
                ++stats_.wait_timeouts;
                spdlog::warn("{}: {} did not appear within the wait timeout: answering anyway",
                             catalog_[vm].name, path);
            } else {
                spdlog::info("{}: {} appeared {:.2f} ms after the query", catalog_[vm].name, path,
                             ms_since(vms_[vm].step_started));
            }
            satisfy_after_delay(vm, epoch, appeared ? "wait_for_key" : "wait_for_key timeout");
        });
}

void booter::start_port_wait(std::size_t vm, std::uint64_t epoch) {
    const vm_spec& spec = catalog_[vm];
    // The address clients are given first (A before AAAA), probed from our namespace.
    const auto address = synjitsu_address(spec);
    port_probe_timing timing = options_.port_probe;
    timing.total = wait_timeout(spec);
    const steady_time started = steady_clock::now();  // the backend has just started it
    ++stats_.port_waits;
    mode_wait_[vm] = wait_for_port(
        loop_, *address, *spec.wait_for_port, timing,
        [this, vm, epoch, started,
         where = fmt::format("{} port {}", address->to_string(), *spec.wait_for_port)](
            const port_probe_result& r) {
            mode_wait_[vm].reset();
            stats_.port_probes += r.attempts;
            if (vms_[vm].epoch != epoch) return;
            if (r.accepted) {
                spdlog::info(
                    "{}: {} accepts, {:.2f} ms after the query; answers held {:.2f} ms after "
                    "the backend start ({} probe(s))",
                    catalog_[vm].name, where, ms_since(vms_[vm].step_started), ms_since(started),
                    r.attempts);
            } else {
                ++stats_.wait_timeouts;
                spdlog::warn(
                    "{}: {} did not accept within the wait timeout ({} ms, {} probe(s), last: "
                    "{}): answering anyway",
                    catalog_[vm].name, where, wait_timeout(catalog_[vm]).count(), r.attempts,
                    r.last_error.empty() ? "-" : r.last_error);
            }
            satisfy_after_delay(vm, epoch, r.accepted ? "wait_for_port" : "wait_for_port timeout");
        });
}

void booter::satisfy_after_delay(std::size_t vm, std::uint64_t epoch, const char* how) {
    auto& timer = *delay_timer_[vm];
    timer.expires_after(catalog_[vm].response_delay);
    timer.async_wait([this, vm, epoch, how](const boost::system::error_code& ec) {
        if (!ec) mode_satisfied(vm, epoch, how);
    });
}

void booter::mode_satisfied(std::size_t vm, std::uint64_t epoch, const char* how) {
    vm_runtime& rt = vms_[vm];
    if (rt.epoch != epoch || rt.phase != vm_phase::booting) return;
    if (!rt.launched && !shutting_down_) {
        // The backend has not said yet that the VM is set up: its answers wait for that
        // (or for its failure, then SERVFAIL).
        rt.satisfied_early = how;
        return;
    }
    rt.active_since = steady_clock::now();
    enter(vm, vm_phase::running);
    const bool had_waiters = !rt.waiters.empty();
    release(vm, true);
    spdlog::info("{}: running, {} {:.2f} ms after the query ({})", catalog_[vm].name,
                 had_waiters ? "answers released" : "up", ms_since(rt.step_started), how);
    if (!rt.has_progress && !rt.confirmed) {
        // No news will come from the backend: up as far as we can tell (the slot goes
        // to the next boot), a failed boot if it ends within boot_grace.
        rt.confirm_by = rt.active_since + options_.boot_grace;
        free_boot_slot(vm);
    }
}

void booter::record_failure(std::size_t vm, std::string error) {
    vm_runtime& rt = vms_[vm];
    ++stats_.boot_failures;
    rt.failures = std::min(rt.failures + 1, 32U);
    // retry_backoff x 2^(failures-1), at most retry_backoff_max.
    auto backoff = options_.retry_backoff;
    for (unsigned i = 1; i < rt.failures && backoff < options_.retry_backoff_max; ++i) backoff *= 2;
    backoff = std::min(backoff, options_.retry_backoff_max);
    spdlog::error("{}: boot failed after {:.2f} ms: {} (failure {} in a row: SERVFAIL for {} ms)",
                  catalog_[vm].name, ms_since(rt.step_started), error, rt.failures,
                  backoff.count());
    rt.error = std::move(error);
    rt.retry_after = steady_clock::now() + backoff;
}

void booter::boot_failed(std::size_t vm, std::string error) {
    record_failure(vm, std::move(error));
    became_stopped(vm);
    release(vm, false);
}

asio::awaitable<void> booter::resume(std::size_t vm, std::uint64_t epoch) {
    flow_guard guard(flows_);
    const vm_spec& spec = catalog_[vm];
    vm_runtime& rt = vms_[vm];
    ++stats_.resumes;
    spdlog::info("{}: resuming on query", spec.name);
    auto out = co_await worker_.run([&spec](backend& b) { b.resume(spec); });
    if (rt.epoch != epoch) co_return;
    if (out.ok()) {
        rt.error.reset();
        rt.active_since = steady_clock::now();
        enter(vm, vm_phase::running);
        release(vm, true);
        spdlog::info("{}: running, answers released {:.2f} ms after the query (resumed)", spec.name,
                     ms_since(rt.step_started));
        co_return;
    }
    spdlog::error("{}: resume failed after {:.2f} ms: {}", spec.name, ms_since(rt.step_started),
                  out.error);
    rt.error = std::move(out.error);
    rt.retry_after = steady_clock::now() + options_.retry_backoff;
    // Suspended still, or gone? The backend knows; a gone VM boots on the next query.
    auto st = co_await worker_.run([&spec](backend& b) { return b.status(spec); });
    if (rt.epoch != epoch) co_return;
    if (st.ok() && st.value->power == vm_power::stopped) {
        became_stopped(vm);
    } else {
        enter(vm, vm_phase::suspended);
    }
    release(vm, false);
}

void booter::became_stopped(std::size_t vm) {
    vm_runtime& rt = vms_[vm];
    rt.domid.reset();
    rt.answers_released = false;
    rt.confirmed = true;  // nothing left to confirm
    stop_watching(vm);
    free_boot_slot(vm);
    delay_timer_[vm]->cancel();
    if (mode_wait_[vm]) {
        mode_wait_[vm]->cancel();
        mode_wait_[vm].reset();
    }
    if (rt.booting_node) withdraw(vm, "VM stopped");
    enter(vm, vm_phase::stopped);
}

void booter::watch_until_managed(std::size_t vm) {
    const auto address = synjitsu_address(catalog_[vm]);
    if (!address) return;
    if (managed_watch_[vm]) managed_watch_[vm]->cancel();
    managed_watch_[vm] = watch_managed(xs_, *address, [this, vm]() {
        if (vms_[vm].booting_node) withdraw(vm, "VM is managed");
    });
}

void booter::withdraw(std::size_t vm, const char* why) {
    vm_runtime& rt = vms_[vm];
    rt.booting_node = false;
    if (managed_watch_[vm]) {
        managed_watch_[vm]->cancel();
        managed_watch_[vm].reset();
    }
    const auto address = synjitsu_address(catalog_[vm]);
    if (!address) return;
    const steady_time started = rt.step_started;
    asio::co_spawn(
        loop_,
        [this, vm, address = *address, why, started]() -> asio::awaitable<void> {
            flow_guard guard(flows_);
            auto r = co_await withdraw_booting(xs_, address);
            if (r.ok() && started == steady_time{}) {
                // A stale entry of a VM this process never booted: no query to time from.
                spdlog::info("{}: /synjitsu/booting entry removed ({})", catalog_[vm].name, why);
            } else if (r.ok()) {
                spdlog::info(
                    "{}: /synjitsu/booting entry removed ({}), {:.2f} ms after the "
                    "query",
                    catalog_[vm].name, why, ms_since(started));
            } else {
                spdlog::warn("{}: removing /synjitsu/booting entry failed: {}", catalog_[vm].name,
                             r.error().message());
            }
        },
        asio::detached);
}

}  // namespace jitsu::dns
