#include "libvirt_connection.h"

#include <fmt/format.h>
#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "jitsu_dns/backend.h"

namespace jitsu::dns::detail {
namespace {

// libvirt prints every error to stderr unless an error function is set; ours stays quiet
// (errors are read back with virGetLastError and reported by the caller).
void quiet_error_handler(void*, virErrorPtr) {}

void silence_libvirt() {
    static std::once_flag once;
    std::call_once(once, [] { virSetErrorFunc(nullptr, quiet_error_handler); });
}

}  // namespace

std::string libvirt_last_error() {
    const char* msg = virGetLastErrorMessage();
    std::string out = msg != nullptr ? msg : "unknown libvirt error";
    std::replace(out.begin(), out.end(), '\n', ' ');
    return out;
}

libvirt_connection::libvirt_connection(std::string uri) : uri_(std::move(uri)) {
    silence_libvirt();
    open();
}

libvirt_connection::~libvirt_connection() {
    if (conn_ != nullptr) virConnectClose(conn_);
}

std::string libvirt_connection::uri_text() const {
    return uri_.empty() ? "libvirt's default URI" : uri_;
}

void libvirt_connection::open() {
    if (conn_ != nullptr) {
        virConnectClose(conn_);
        conn_ = nullptr;
    }
    driver_.reset();
    kvm_.reset();
    conn_ = virConnectOpen(uri_.empty() ? nullptr : uri_.c_str());
    if (conn_ == nullptr) {
        throw backend_error(fmt::format("libvirt backend: cannot connect to {}: {}", uri_text(),
                                        libvirt_last_error()));
    }
    virConnSetErrorFunc(conn_, nullptr, quiet_error_handler);
}

virConnectPtr libvirt_connection::get() {
    if (conn_ == nullptr || virConnectIsAlive(conn_) != 1) {
        spdlog::warn("libvirt connection to {} is down: reconnecting", uri_text());
        open();
    }
    return conn_;
}

domain_ptr libvirt_connection::find(const std::string& vm, const std::string& name,
                                    const std::string& uuid) {
    virConnectPtr c = get();
    if (virDomainPtr d = virDomainLookupByName(c, name.c_str())) return domain_ptr(d);
    if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
        throw backend_error(fmt::format("VM {}: libvirt: {}", vm, libvirt_last_error()));
    }
    if (virDomainPtr d = virDomainLookupByUUIDString(c, uuid.c_str())) return domain_ptr(d);
    if (virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
        throw backend_error(fmt::format("VM {}: libvirt: {}", vm, libvirt_last_error()));
    }
    return nullptr;
}

std::string libvirt_connection::driver() {
    virConnectPtr c = get();
    if (!driver_) {
        const char* type = virConnectGetType(c);
        if (type == nullptr) {
            throw backend_error(fmt::format("libvirt backend: the driver of {} is unknown: {}",
                                            uri_text(), libvirt_last_error()));
        }
        driver_ = type;
    }
    return *driver_;
}

bool libvirt_connection::kvm_usable() {
    virConnectPtr c = get();
    if (!kvm_) {
        // NULL emulator/arch/machine: the host architecture's default emulator.
        char* caps = virConnectGetDomainCapabilities(c, nullptr, nullptr, nullptr, "kvm", 0);
        kvm_ = caps != nullptr;
        if (caps != nullptr) {
            free(caps);  // NOLINT: allocated by libvirt with malloc
            spdlog::info(
                "libvirt {}: KVM is offered: transient domains without domain_type= "
                "are type kvm",
                uri_text());
        } else {
            spdlog::info("libvirt {}: no KVM ({}): transient domains are type qemu (TCG)",
                         uri_text(), libvirt_last_error());
        }
    }
    return *kvm_;
}

}  // namespace jitsu::dns::detail
