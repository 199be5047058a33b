#pragma once
// The libvirt backend's transient domain: the domain XML it hands to virDomainCreateXML for
// a VM with kernel= and no persistent domain. Pure (no libvirt needed): unit-tested with
// golden strings.

#include <string>
#include <string_view>

#include "jitsu_dns/backend.h"

namespace jitsu::dns {

struct transient_domain_inputs {
    // <domain type=...>: "kvm" or "qemu" (libvirt's test driver: "test").
    std::string_view type;
    // The serial console's log file (QEMU writes it, truncated at each boot); empty: the
    // console is a pty only (`virsh console NAME`).
    std::string console_log;
};

// The domain, named and identified like the VM (name=, uuid=):
//   memory= KiB, 1 vcpu, ACPI (so `shutdown` can ask the guest), direct kernel boot
//   (kernel=, initrd=, cmdline=); one virtio NIC on bridge nic= with the VM's MAC; the
//   serial console on a pty (logged to console_log); no disk, graphics, USB or balloon;
//   on_poweroff/on_crash destroy (a transient domain then vanishes), on_reboot restart.
// Every value is XML-escaped. Throws backend_error (one line, naming the VM) without
// kernel=, memory= or nic=, or when kernel= / initrd= / console_log is not an absolute path
// (libvirtd resolves paths itself, from its own working directory).
std::string transient_domain_xml(const vm_spec& vm, const transient_domain_inputs& inputs);

// The <domain type> of a VM's transient domain on a libvirt driver (virConnectGetType:
// "QEMU", "Test"; any case):
//   domain_type= given   that type (QEMU driver only)
//   QEMU driver          "kvm" when kvm_usable (libvirt's domain capabilities for virttype
//                        kvm exist: /dev/kvm usable by libvirtd and its QEMU has KVM),
//                        else "qemu" (TCG). KVM that is present but broken (nested
//                        virtualisation gone wrong) is not detected: set domain_type=qemu.
//   test driver          "test" (the unit tests' in-process driver)
// Throws backend_error (naming the VM) for other drivers (Xen: define a persistent domain,
// or use the libxl backend) and for domain_type= on the test driver.
std::string transient_domain_type(const vm_spec& vm, std::string_view driver, bool kvm_usable);

// `text` with & < > " ' replaced by entities: safe in element text and quoted attributes.
std::string xml_escape(std::string_view text);

}  // namespace jitsu::dns
