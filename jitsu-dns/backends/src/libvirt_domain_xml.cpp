#include "jitsu_dns/libvirt_domain_xml.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace jitsu::dns {
namespace {

void require_absolute(const vm_spec& vm, std::string_view what, const std::string& path) {
    if (!path.empty() && path.front() != '/') {
        throw backend_error(
            fmt::format("VM {}: {} \"{}\" is not an absolute path (libvirtd resolves it itself)",
                        vm.name, what, path));
    }
}

}  // namespace

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string transient_domain_type(const vm_spec& vm, std::string_view driver, bool kvm_usable) {
    const auto is = [&](std::string_view name) {
        return driver.size() == name.size() &&
               std::equal(driver.begin(), driver.end(), name.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
               });
    };
    if (is("qemu")) {
        if (vm.domain_type) return *vm.domain_type == libvirt_domain_type::kvm ? "kvm" : "qemu";
        return kvm_usable ? "kvm" : "qemu";
    }
    if (is("test") && !vm.domain_type) return "test";
    throw backend_error(fmt::format(
        "VM {}: transient domains from kernel={} need libvirt's QEMU driver, not \"{}\" "
        "(define a persistent domain named {} instead)",
        vm.name, vm.domain_type ? " and domain_type=" : "", driver.substr(0, 32), vm.name));
}

std::string transient_domain_xml(const vm_spec& vm, const transient_domain_inputs& inputs) {
    const auto missing = [&](std::string_view key, std::string_view what) {
        return backend_error(fmt::format(
            "VM {}: a transient libvirt domain (kernel=) needs {}= ({})", vm.name, key, what));
    };
    if (vm.kernel.empty()) throw missing("kernel", "the kernel to boot");
    if (!vm.memory_kib) throw missing("memory", "KiB");
    if (vm.nic.empty()) throw missing("nic", "the bridge of its network interface");
    require_absolute(vm, "kernel=", vm.kernel);
    require_absolute(vm, "initrd=", vm.initrd);
    require_absolute(vm, "the console log", inputs.console_log);

    const auto e = [](std::string_view s) { return xml_escape(s); };
    std::string x;
    x += fmt::format("<domain type='{}'>\n", e(inputs.type));
    x += fmt::format("  <name>{}</name>\n", e(vm.name));
    x += fmt::format("  <uuid>{}</uuid>\n", e(vm.uuid));
    x += fmt::format("  <memory unit='KiB'>{}</memory>\n", *vm.memory_kib);
    x += "  <vcpu>1</vcpu>\n";
    x += "  <os>\n";
    x += "    <type>hvm</type>\n";
    x += fmt::format("    <kernel>{}</kernel>\n", e(vm.kernel));
    if (!vm.initrd.empty()) x += fmt::format("    <initrd>{}</initrd>\n", e(vm.initrd));
    if (!vm.cmdline.empty()) x += fmt::format("    <cmdline>{}</cmdline>\n", e(vm.cmdline));
    x += "  </os>\n";
    x += "  <features><acpi/><apic/></features>\n";
    x += "  <on_poweroff>destroy</on_poweroff>\n";
    x += "  <on_reboot>restart</on_reboot>\n";
    x += "  <on_crash>destroy</on_crash>\n";
    x += "  <devices>\n";
    x += "    <interface type='bridge'>\n";
    x += fmt::format("      <source bridge='{}'/>\n", e(vm.nic));
    x += fmt::format("      <mac address='{}'/>\n", e(vm.mac.to_string()));
    x += "      <model type='virtio'/>\n";
    x += "    </interface>\n";
    x += "    <serial type='pty'>\n";
    if (!inputs.console_log.empty()) {
        x += fmt::format("      <log file='{}' append='off'/>\n", e(inputs.console_log));
    }
    x += "      <target port='0'/>\n";
    x += "    </serial>\n";
    x += "    <console type='pty'><target type='serial' port='0'/></console>\n";
    x += "    <controller type='usb' model='none'/>\n";
    x += "    <memballoon model='none'/>\n";
    x += "  </devices>\n";
    x += "</domain>\n";
    return x;
}

}  // namespace jitsu::dns
