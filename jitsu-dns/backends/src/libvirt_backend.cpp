// The libvirt backend (`-x libvirt -c URI`). A VM is the libvirt domain named like the VM
// (else the one with the VM's uuid):
//   start    a persistent domain (defined outside jitsu-dns, `virsh define`) is started
//            with virDomainCreate, as the original Jitsu did; without one, a VM with
//            kernel= gets a transient domain from virDomainCreateXML (libvirt_domain_xml.h),
//            named and identified like the VM. A paused domain is resumed. Then
//            virDomainGetID.
//   stop     destroy: virDomainDestroy; shutdown: virDomainShutdown, then virDomainDestroy
//            if it is still up after backend_options::stop_grace (a guest whose init
//            ignores ACPI, e.g. busybox); suspend: virDomainSuspend
//   resume   virDomainResume
//   status   virDomainGetState: running/blocked/shutting down -> running,
//            paused/pmsuspended -> suspended, anything else -> stopped. A transient domain
//            vanishes when it stops: no domain is `stopped` for a VM with kernel=.
// Adoption after a jitsu-dns restart needs nothing more: the domain, persistent or
// transient, is found by name and reported running. A VM without kernel= and without a
// domain is an error on every call. Calls block (libvirt RPC, the shutdown grace): the
// booter runs them on its backend worker thread. Works with libvirt's in-process test
// driver (`test:///default`, `test:///abs/path/node.xml`), no daemon.
#include <fmt/format.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "factories.h"
#include "jitsu_dns/libvirt_domain_xml.h"
#include "libvirt_connection.h"

namespace jitsu::dns {
namespace {

using namespace std::chrono_literals;
using detail::domain_ptr;
using detail::libvirt_last_error;

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

class libvirt_backend final : public backend {
  public:
    explicit libvirt_backend(const backend_options& options)
        : options_(options), conn_(options.connect_uri) {}

    std::string_view kind() const override { return "libvirt"; }

    vm_status start(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        domain_ptr d = find(vm);
        if (!d) return create_transient(vm);
        switch (power(vm, d.get())) {
            case vm_power::running:
                break;
            case vm_power::suspended:
                check(vm, "virDomainResume", virDomainResume(d.get()));
                break;
            case vm_power::stopped:
                check(vm, "virDomainCreate", virDomainCreate(d.get()));
                break;
        }
        return status_of(vm, d.get());
    }

    void stop(const vm_spec& vm, stop_mode mode) override {
        std::lock_guard lock(mutex_);
        const domain_ptr d = find(vm);
        if (!d) return;  // a transient domain that is gone: stopped
        const vm_power now = power(vm, d.get());
        if (now == vm_power::stopped) return;
        switch (mode) {
            case stop_mode::suspend:
                if (now == vm_power::running)
                    check(vm, "virDomainSuspend", virDomainSuspend(d.get()));
                return;
            case stop_mode::destroy:
                destroy(vm, d.get());
                return;
            case stop_mode::shutdown:
                shutdown(vm, d.get());
                return;
        }
    }

    void resume(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        const domain_ptr d = find(vm);
        const vm_power now = d ? power(vm, d.get()) : vm_power::stopped;
        if (now == vm_power::stopped)
            throw backend_error(fmt::format("VM {}: not running, cannot resume it", vm.name));
        if (now == vm_power::suspended) check(vm, "virDomainResume", virDomainResume(d.get()));
    }

    vm_status status(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        const domain_ptr d = find(vm);
        if (!d) return {};
        return status_of(vm, d.get());
    }

  private:
    // The VM's domain; null only for a VM with kernel= (its transient domain is not
    // there); for any other VM a missing domain is an error.
    domain_ptr find(const vm_spec& vm) {
        domain_ptr d = conn_.find(vm.name, vm.name, vm.uuid);
        if (!d && vm.kernel.empty()) {
            throw backend_error(
                fmt::format("VM {}: no libvirt domain named \"{}\" or with UUID {} on {}", vm.name,
                            vm.name, vm.uuid, conn_.uri_text()));
        }
        return d;
    }

    vm_status create_transient(const vm_spec& vm) {
        const std::string driver = conn_.driver();
        const bool probe_kvm = !vm.domain_type && driver == "QEMU";
        const std::string type =
            transient_domain_type(vm, driver, probe_kvm ? conn_.kvm_usable() : false);
        transient_domain_inputs in{type, {}};
        if (!options_.libvirt_console_dir.empty()) {
            in.console_log = (options_.libvirt_console_dir / (vm.name + ".console.log")).string();
        }
        const std::string xml = transient_domain_xml(vm, in);
        const auto t0 = std::chrono::steady_clock::now();
        virDomainPtr raw = virDomainCreateXML(conn_.get(), xml.c_str(), 0);
        if (raw == nullptr) {
            throw backend_error(fmt::format("VM {}: libvirt virDomainCreateXML: {}", vm.name,
                                            libvirt_last_error()));
        }
        const domain_ptr d(raw);
        spdlog::info("VM {}: created transient libvirt domain (type {}) in {:.1f} ms{}", vm.name,
                     type, ms_since(t0),
                     in.console_log.empty() ? std::string{}
                                            : fmt::format(", console log {}", in.console_log));
        return status_of(vm, d.get());
    }

    void check(const vm_spec& vm, const char* call, int rc) {
        if (rc < 0) {
            throw backend_error(
                fmt::format("VM {}: libvirt {}: {}", vm.name, call, libvirt_last_error()));
        }
    }

    // A transient domain that stopped meanwhile no longer exists: that is `stopped`.
    vm_power power(const vm_spec& vm, virDomainPtr d) {
        int state = 0, reason = 0;
        if (virDomainGetState(d, &state, &reason, 0) < 0) {
            if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) return vm_power::stopped;
            check(vm, "virDomainGetState", -1);
        }
        switch (state) {
            case VIR_DOMAIN_RUNNING:
            case VIR_DOMAIN_BLOCKED:
            case VIR_DOMAIN_SHUTDOWN:  // being shut down: still up
                return vm_power::running;
            case VIR_DOMAIN_PAUSED:
            case VIR_DOMAIN_PMSUSPENDED:
                return vm_power::suspended;
            default:  // NOSTATE, SHUTOFF, CRASHED
                return vm_power::stopped;
        }
    }

    vm_status status_of(const vm_spec& vm, virDomainPtr d) {
        vm_status s;
        s.power = power(vm, d);
        if (s.power != vm_power::stopped) {
            const unsigned int id = virDomainGetID(d);
            if (id != static_cast<unsigned int>(-1)) s.domid = id;
        } else {
            // A persistent domain keeps why it stopped (a transient one is gone).
            int state = 0, reason = 0;
            if (virDomainGetState(d, &state, &reason, 0) == 0) {
                if (state == VIR_DOMAIN_CRASHED ||
                    (state == VIR_DOMAIN_SHUTOFF && reason == VIR_DOMAIN_SHUTOFF_CRASHED)) {
                    s.failure = "libvirt: the domain crashed";
                } else if (state == VIR_DOMAIN_SHUTOFF && reason == VIR_DOMAIN_SHUTOFF_FAILED) {
                    s.failure = "libvirt: the domain failed to start";
                }
            }
        }
        return s;
    }

    // virDomainDestroy; a domain that stopped on its own meanwhile is fine.
    void destroy(const vm_spec& vm, virDomainPtr d) {
        if (virDomainDestroy(d) == 0) return;
        const std::string error = libvirt_last_error();
        if (power(vm, d) == vm_power::stopped) return;
        throw backend_error(fmt::format("VM {}: libvirt virDomainDestroy: {}", vm.name, error));
    }

    // Asks the guest to stop; destroys it if it is still up after the grace period.
    void shutdown(const vm_spec& vm, virDomainPtr d) {
        if (power(vm, d) == vm_power::suspended) check(vm, "virDomainResume", virDomainResume(d));
        check(vm, "virDomainShutdown", virDomainShutdown(d));
        const auto deadline = std::chrono::steady_clock::now() + options_.stop_grace;
        while (power(vm, d) != vm_power::stopped) {
            if (std::chrono::steady_clock::now() >= deadline) {
                spdlog::warn("VM {}: still up {} ms after shutdown: destroying it", vm.name,
                             options_.stop_grace.count());
                destroy(vm, d);
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
    }

    backend_options options_;
    detail::libvirt_connection conn_;
    std::mutex mutex_;
};

}  // namespace

namespace detail {

std::unique_ptr<backend> make_libvirt_backend(const backend_options& options) {
    return std::make_unique<libvirt_backend>(options);
}

}  // namespace detail
}  // namespace jitsu::dns
