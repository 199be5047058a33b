#pragma once
// The libvirt backend's connection: libvirt's errors as one-line strings (libvirt's own
// printing to stderr silenced), a connection reopened when the daemon went away, domain
// lookup by name then uuid, and what the connected driver can do (cached per connection).

#include <libvirt/libvirt.h>

#include <memory>
#include <optional>
#include <string>

namespace jitsu::dns::detail {

struct domain_free {
    void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using domain_ptr = std::unique_ptr<virDomain, domain_free>;

// libvirt's last error on this thread, on one line.
std::string libvirt_last_error();

class libvirt_connection {
  public:
    // Connects to `uri` ("" = libvirt's default URI); throws backend_error.
    explicit libvirt_connection(std::string uri);
    ~libvirt_connection();
    libvirt_connection(const libvirt_connection&) = delete;
    libvirt_connection& operator=(const libvirt_connection&) = delete;

    // The URI for messages ("libvirt's default URI" when none was given).
    std::string uri_text() const;
    // The connection, reopened first if the daemon went away or the link broke.
    virConnectPtr get();
    // The domain named `name`, else the one with `uuid`; null when neither exists. Other
    // failures throw backend_error naming `vm`.
    domain_ptr find(const std::string& vm, const std::string& name, const std::string& uuid);
    // The driver's name (virConnectGetType: "QEMU", "TEST", ...).
    std::string driver();
    // Whether libvirt offers KVM here: its domain capabilities for virttype kvm exist.
    bool kvm_usable();

  private:
    void open();

    std::string uri_;
    virConnectPtr conn_ = nullptr;
    // Facts about the connected daemon, forgotten on reconnect.
    std::optional<std::string> driver_;
    std::optional<bool> kvm_;
};

}  // namespace jitsu::dns::detail
