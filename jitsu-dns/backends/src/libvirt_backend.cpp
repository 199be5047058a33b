// The libvirt backend (`-x libvirt -c URI`): a VM is the libvirt domain named like the
// VM (else the one with the VM's uuid), driven through the libvirt API:
//   start    virDomainCreate (a paused domain is resumed), then virDomainGetID
//   stop     destroy: virDomainDestroy; shutdown: virDomainShutdown, then
//            virDomainDestroy if it is still up after backend_options::stop_grace;
//            suspend: virDomainSuspend
//   resume   virDomainResume
//   status   virDomainGetState: running/blocked/shutting down -> running,
//            paused/pmsuspended -> suspended, anything else -> stopped
// libvirt's errors become one-line backend_errors (libvirt's own printing to stderr is
// silenced); a dead connection is reopened before the next call. Works with libvirt's
// in-process test driver (`test:///default`, `test:///abs/path/node.xml`), no daemon.
// The domains are defined outside jitsu-dns (virsh define): kernel=, memory= etc. of the
// spec are not used here.
#include <fmt/format.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>

#include "factories.h"

namespace jitsu::dns {
namespace {

using namespace std::chrono_literals;

// libvirt prints every error to stderr unless an error function is set; ours stays quiet
// (errors are read back with virGetLastError and reported by the caller).
void quiet_error_handler(void*, virErrorPtr) {}

void silence_libvirt() {
    static std::once_flag once;
    std::call_once(once, [] { virSetErrorFunc(nullptr, quiet_error_handler); });
}

// libvirt's last error on this thread, on one line.
std::string last_error() {
    const char* msg = virGetLastErrorMessage();
    std::string out = msg != nullptr ? msg : "unknown libvirt error";
    std::replace(out.begin(), out.end(), '\n', ' ');
    return out;
}

struct domain_free {
    void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using domain_ptr = std::unique_ptr<virDomain, domain_free>;

class libvirt_backend final : public backend {
  public:
    explicit libvirt_backend(const backend_options& options) : options_(options) {
        silence_libvirt();
        connect();
    }
    ~libvirt_backend() override {
        if (conn_ != nullptr) virConnectClose(conn_);
    }
    libvirt_backend(const libvirt_backend&) = delete;
    libvirt_backend& operator=(const libvirt_backend&) = delete;

    std::string_view kind() const override { return "libvirt"; }

    vm_status start(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        const domain_ptr d = lookup(vm);
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
        const domain_ptr d = lookup(vm);
        const vm_power now = power(vm, d.get());
        if (now == vm_power::stopped) return;
        switch (mode) {
            case stop_mode::suspend:
                if (now == vm_power::running)
                    check(vm, "virDomainSuspend", virDomainSuspend(d.get()));
                return;
            case stop_mode::destroy:
                check(vm, "virDomainDestroy", virDomainDestroy(d.get()));
                return;
            case stop_mode::shutdown:
                shutdown(vm, d.get());
                return;
        }
    }

    void resume(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        const domain_ptr d = lookup(vm);
        const vm_power now = power(vm, d.get());
        if (now == vm_power::stopped)
            throw backend_error(fmt::format("VM {}: not running, cannot resume it", vm.name));
        if (now == vm_power::suspended) check(vm, "virDomainResume", virDomainResume(d.get()));
    }

    vm_status status(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        const domain_ptr d = lookup(vm);
        return status_of(vm, d.get());
    }

  private:
    std::string uri_text() const {
        return options_.connect_uri.empty() ? "libvirt's default URI" : options_.connect_uri;
    }

    void connect() {
        if (conn_ != nullptr) {
            virConnectClose(conn_);
            conn_ = nullptr;
        }
        conn_ =
            virConnectOpen(options_.connect_uri.empty() ? nullptr : options_.connect_uri.c_str());
        if (conn_ == nullptr) {
            throw backend_error(
                fmt::format("libvirt backend: cannot connect to {}: {}", uri_text(), last_error()));
        }
        virConnSetErrorFunc(conn_, nullptr, quiet_error_handler);
    }

    // The connection, reopened if the daemon went away or the link broke.
    virConnectPtr connection() {
        if (conn_ == nullptr || virConnectIsAlive(conn_) != 1) {
            spdlog::warn("libvirt connection to {} is down: reconnecting", uri_text());
            connect();
        }
        return conn_;
    }

    domain_ptr lookup(const vm_spec& vm) {
        virConnectPtr c = connection();
        if (virDomainPtr d = virDomainLookupByName(c, vm.name.c_str())) return domain_ptr(d);
        if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
            throw backend_error(fmt::format("VM {}: libvirt: {}", vm.name, last_error()));
        }
        if (virDomainPtr d = virDomainLookupByUUIDString(c, vm.uuid.c_str())) return domain_ptr(d);
        if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
            throw backend_error(fmt::format("VM {}: libvirt: {}", vm.name, last_error()));
        }
        throw backend_error(
            fmt::format("VM {}: no libvirt domain named \"{}\" or with UUID {} on {}", vm.name,
                        vm.name, vm.uuid, uri_text()));
    }

    void check(const vm_spec& vm, const char* call, int rc) {
        if (rc < 0)
            throw backend_error(fmt::format("VM {}: libvirt {}: {}", vm.name, call, last_error()));
    }

    vm_power power(const vm_spec& vm, virDomainPtr d) {
        int state = 0, reason = 0;
        check(vm, "virDomainGetState", virDomainGetState(d, &state, &reason, 0));
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
        }
        return s;
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
                check(vm, "virDomainDestroy", virDomainDestroy(d));
                return;
            }
            std::this_thread::sleep_for(50ms);
        }
    }

    backend_options options_;
    virConnectPtr conn_ = nullptr;
    std::mutex mutex_;
};

}  // namespace

namespace detail {

std::unique_ptr<backend> make_libvirt_backend(const backend_options& options) {
    return std::make_unique<libvirt_backend>(options);
}

}  // namespace detail
}  // namespace jitsu::dns
