// The libxl backend: Xen domains created from the spec (build_libxl_config) and driven
// through libxenlight. Needs a Xen host: construction fails with one line otherwise.
//   start    libxl_domain_create_new + unpause (a paused domain is unpaused)
//   stop     destroy: libxl_domain_destroy; shutdown: libxl_domain_shutdown, destroy
//            after backend_options::stop_grace; suspend: libxl_domain_pause
//   resume   libxl_domain_unpause
//   status   libxl_name_to_domid + libxl_domain_info (paused -> suspended)
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <type_traits>

#include "factories.h"
#include "jitsu_dns/libxl_config.h"
#include "libxl_headers.h"

namespace jitsu::dns {
namespace {

using namespace std::chrono_literals;

// A xentoollog logger that keeps the last error for our one-line messages and passes
// everything to spdlog at debug level (libxl would otherwise need a stdio logger).
// Standard layout with the vtable first: libxl calls back with the vtable's address.
struct capture_logger {
    xentoollog_logger vtable{};
    std::string* last_error;

    explicit capture_logger(std::string* sink) : last_error(sink) {
        vtable.vmessage = &capture_logger::vmessage;
        vtable.progress = nullptr;
        vtable.destroy = [](xentoollog_logger*) {};
    }
    static void vmessage(xentoollog_logger* lg, xentoollog_level level, int errnoval,
                         const char* context, const char* format, va_list al) {
        auto* self = reinterpret_cast<capture_logger*>(lg);
        char buf[512];
        std::vsnprintf(buf, sizeof buf, format, al);
        std::string line = buf;
        if (errnoval >= 0) line += std::string(": ") + std::strerror(errnoval);
        for (char& c : line) {
            if (c == '\n') c = ' ';
        }
        spdlog::debug("libxl {}: {}", context != nullptr ? context : "", line);
        if (level >= XTL_ERROR) *self->last_error = line;
    }
};
static_assert(std::is_standard_layout_v<capture_logger>);

class libxl_backend final : public backend {
  public:
    explicit libxl_backend(const backend_options& options) : options_(options) {
        const int rc = libxl_ctx_alloc(&ctx_, LIBXL_VERSION, 0, &logger_.vtable);
        if (rc != 0 || ctx_ == nullptr) {
            throw backend_error("libxl backend needs a Xen host: " +
                                (last_error_.empty()
                                     ? fmt::format("libxl_ctx_alloc failed ({})", rc)
                                     : last_error_));
        }
    }
    ~libxl_backend() override { libxl_ctx_free(ctx_); }
    libxl_backend(const libxl_backend&) = delete;
    libxl_backend& operator=(const libxl_backend&) = delete;

    std::string_view kind() const override { return "libxl"; }

    vm_status start(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        last_error_.clear();  // errors are reported per call
        if (const auto s = current(vm); s.power != vm_power::stopped) {
            if (s.power == vm_power::suspended)
                check(vm, "libxl_domain_unpause", libxl_domain_unpause(ctx_, *s.domid, nullptr));
            return {vm_power::running, s.domid, {}};
        }
        libxl_domain_config config;
        libxl_domain_config_init(&config);
        std::uint32_t domid = INVALID_DOMID;
        try {
            build_libxl_config(vm, &config);
            check(vm, "libxl_domain_create_new",
                  libxl_domain_create_new(ctx_, &config, &domid, nullptr, nullptr));
        } catch (...) {
            libxl_domain_config_dispose(&config);
            throw;
        }
        libxl_domain_config_dispose(&config);
        // libxl creates domains paused.
        check(vm, "libxl_domain_unpause", libxl_domain_unpause(ctx_, domid, nullptr));
        return {vm_power::running, domid, {}};
    }

    void stop(const vm_spec& vm, stop_mode mode) override {
        std::lock_guard lock(mutex_);
        last_error_.clear();  // errors are reported per call
        const auto s = current(vm);
        if (s.power == vm_power::stopped) return;
        const std::uint32_t domid = *s.domid;
        switch (mode) {
            case stop_mode::suspend:
                if (s.power == vm_power::running)
                    check(vm, "libxl_domain_pause", libxl_domain_pause(ctx_, domid, nullptr));
                return;
            case stop_mode::destroy:
                check(vm, "libxl_domain_destroy", libxl_domain_destroy(ctx_, domid, nullptr));
                return;
            case stop_mode::shutdown: {
                if (s.power == vm_power::suspended) libxl_domain_unpause(ctx_, domid, nullptr);
                check(vm, "libxl_domain_shutdown", libxl_domain_shutdown(ctx_, domid, nullptr));
                const auto deadline = std::chrono::steady_clock::now() + options_.stop_grace;
                while (current(vm).power != vm_power::stopped) {
                    if (std::chrono::steady_clock::now() >= deadline) {
                        spdlog::warn("VM {}: still up {} ms after shutdown: destroying it", vm.name,
                                     options_.stop_grace.count());
                        check(vm, "libxl_domain_destroy",
                              libxl_domain_destroy(ctx_, domid, nullptr));
                        return;
                    }
                    std::this_thread::sleep_for(50ms);
                }
                return;
            }
        }
    }

    void resume(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        last_error_.clear();  // errors are reported per call
        const auto s = current(vm);
        if (s.power == vm_power::stopped)
            throw backend_error(fmt::format("VM {}: not running, cannot resume it", vm.name));
        if (s.power == vm_power::suspended)
            check(vm, "libxl_domain_unpause", libxl_domain_unpause(ctx_, *s.domid, nullptr));
    }

    vm_status status(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        last_error_.clear();  // errors are reported per call
        return current(vm);
    }

  private:
    vm_status current(const vm_spec& vm) {
        std::uint32_t domid = 0;
        if (libxl_name_to_domid(ctx_, vm.name.c_str(), &domid) != 0) return {};
        libxl_dominfo info;
        libxl_dominfo_init(&info);
        const int rc = libxl_domain_info(ctx_, &info, domid);
        const bool paused = info.paused, ending = info.shutdown || info.dying;
        libxl_dominfo_dispose(&info);
        if (rc == ERROR_DOMAIN_NOTFOUND || (rc == 0 && ending)) return {};
        check(vm, "libxl_domain_info", rc);
        return {paused ? vm_power::suspended : vm_power::running, domid, {}};
    }

    void check(const vm_spec& vm, const char* call, int rc) {
        if (rc == 0) return;
        throw backend_error(fmt::format("VM {}: {} failed ({}){}", vm.name, call, rc,
                                        last_error_.empty() ? "" : ": " + last_error_));
    }

    backend_options options_;
    std::string last_error_;
    capture_logger logger_{&last_error_};
    libxl_ctx* ctx_ = nullptr;
    std::mutex mutex_;
};

}  // namespace

namespace detail {

std::unique_ptr<backend> make_libxl_backend(const backend_options& options) {
    return std::make_unique<libxl_backend>(options);
}

}  // namespace detail
}  // namespace jitsu::dns
