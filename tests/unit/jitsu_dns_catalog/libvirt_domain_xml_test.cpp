// The transient domain XML of the libvirt backend (golden strings), its escaping, its
// refusals, and the choice of the domain type.
#include "jitsu_dns/libvirt_domain_xml.h"

#include <gtest/gtest.h>

#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

const std::string guest =
    "name=www,dns=www.example.org,ip=10.0.0.10,mac=02:00:0a:00:00:0a,"
    "uuid=d90e2758-6801-5c74-860c-d52e365be5fa,nic=br0,memory=262144,"
    "kernel=/img/vmlinuz,initrd=/img/initramfs.cpio.gz,"
    "cmdline=console=ttyS0 jitsu.ip=10.0.0.10/24 jitsu.body=hello";

vm_spec spec(const std::string& text) { return parse_vm_spec(text, catalog_defaults{}); }

std::string error_of(const vm_spec& vm, const transient_domain_inputs& in) {
    try {
        (void)transient_domain_xml(vm, in);
    } catch (const backend_error& e) {
        return e.what();
    }
    return "no error";
}

TEST(jitsu_dns_libvirt_xml, golden_with_console_log) {
    EXPECT_EQ(transient_domain_xml(spec(guest), {"qemu", "/var/log/jitsu/www.console.log"}),
              R"(<domain type='qemu'>
  <name>www</name>
  <uuid>d90e2758-6801-5c74-860c-d52e365be5fa</uuid>
  <memory unit='KiB'>262144</memory>
  <vcpu>1</vcpu>
  <os>
    <type>hvm</type>
    <kernel>/img/vmlinuz</kernel>
    <initrd>/img/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyS0 jitsu.ip=10.0.0.10/24 jitsu.body=hello</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='bridge'>
      <source bridge='br0'/>
      <mac address='02:00:0a:00:00:0a'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <log file='/var/log/jitsu/www.console.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
)");
}

TEST(jitsu_dns_libvirt_xml, golden_minimal_kvm_without_initrd_cmdline_or_log) {
    const auto vm = spec(
        "name=m,dns=m.example,ip=10.0.0.11,uuid=1ca0ffee-0000-4000-8000-00000000ab60,nic=virbr0,"
        "memory=65536,kernel=/boot/vmlinuz");
    EXPECT_EQ(transient_domain_xml(vm, {"kvm", ""}), R"(<domain type='kvm'>
  <name>m</name>
  <uuid>1ca0ffee-0000-4000-8000-00000000ab60</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os>
    <type>hvm</type>
    <kernel>/boot/vmlinuz</kernel>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='bridge'>
      <source bridge='virbr0'/>
      <mac address='00:16:3e:00:00:0b'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
)");
}

TEST(jitsu_dns_libvirt_xml, every_value_is_escaped) {
    EXPECT_EQ(xml_escape(R"(a&b<c>d"e'f)"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    EXPECT_EQ(xml_escape("plain /path_1.x"), "plain /path_1.x");
    // Hostile but valid spec values: kernel, initrd, cmdline, bridge; and the log path.
    const auto vm = spec(
        "name=x,dns=x.example,ip=10.0.0.12,nic=b'r<0,memory=1,kernel=/k&<x>,initrd=/i\"'.img,"
        "cmdline=a='1' b=\"<2>\" c=&amp;");
    const std::string xml = transient_domain_xml(vm, {"qemu", "/log/'x'&<.log"});
    EXPECT_NE(xml.find("<kernel>/k&amp;&lt;x&gt;</kernel>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<initrd>/i&quot;&apos;.img</initrd>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<cmdline>a=&apos;1&apos; b=&quot;&lt;2&gt;&quot; c=&amp;amp;</cmdline>"),
              std::string::npos)
        << xml;
    EXPECT_NE(xml.find("<source bridge='b&apos;r&lt;0'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<log file='/log/&apos;x&apos;&amp;&lt;.log' append='off'/>"),
              std::string::npos)
        << xml;
    // Nothing unescaped: every '<' opens one of our own elements.
    for (std::size_t at = xml.find('<'); at != std::string::npos; at = xml.find('<', at + 1)) {
        EXPECT_TRUE(std::isalpha(static_cast<unsigned char>(xml[at + 1])) || xml[at + 1] == '/')
            << xml.substr(at, 20);
    }
}

TEST(jitsu_dns_libvirt_xml, refusals_name_the_vm_and_the_key) {
    const std::string ip = "name=www,dns=www.example.org,ip=10.0.0.10,";
    EXPECT_EQ(error_of(spec(ip + "nic=br0,memory=1"), {"qemu", ""}),
              "VM www: a transient libvirt domain (kernel=) needs kernel= (the kernel to boot)");
    EXPECT_EQ(error_of(spec(ip + "nic=br0,kernel=/k"), {"qemu", ""}),
              "VM www: a transient libvirt domain (kernel=) needs memory= (KiB)");
    EXPECT_EQ(error_of(spec(ip + "memory=1,kernel=/k"), {"qemu", ""}),
              "VM www: a transient libvirt domain (kernel=) needs nic= (the bridge of its "
              "network interface)");
    EXPECT_EQ(error_of(spec(ip + "nic=br0,memory=1,kernel=vmlinuz"), {"qemu", ""}),
              "VM www: kernel= \"vmlinuz\" is not an absolute path (libvirtd resolves it itself)");
    EXPECT_EQ(error_of(spec(ip + "nic=br0,memory=1,kernel=/k,initrd=i.gz"), {"qemu", ""}),
              "VM www: initrd= \"i.gz\" is not an absolute path (libvirtd resolves it itself)");
    EXPECT_EQ(error_of(spec(ip + "nic=br0,memory=1,kernel=/k"), {"qemu", "logs/www.log"}),
              "VM www: the console log \"logs/www.log\" is not an absolute path (libvirtd "
              "resolves it itself)");
}

TEST(jitsu_dns_libvirt_xml, domain_type_rule) {
    const std::string k = "name=g,dns=g.example,ip=10.0.0.9,kernel=/k";
    const auto plain = spec(k), tcg = spec(k + ",domain_type=qemu"),
               kvm = spec(k + ",domain_type=kvm");
    // QEMU driver: kvm only when libvirt offers it; domain_type= wins either way.
    EXPECT_EQ(transient_domain_type(plain, "QEMU", true), "kvm");
    EXPECT_EQ(transient_domain_type(plain, "QEMU", false), "qemu");
    EXPECT_EQ(transient_domain_type(tcg, "QEMU", true), "qemu");
    EXPECT_EQ(transient_domain_type(kvm, "QEMU", false), "kvm");
    EXPECT_EQ(transient_domain_type(plain, "qemu", false), "qemu");
    // libvirt's test driver.
    EXPECT_EQ(transient_domain_type(plain, "TEST", false), "test");
    const auto error = [](const vm_spec& vm, const char* driver) {
        try {
            (void)transient_domain_type(vm, driver, false);
        } catch (const backend_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error(plain, "Xen"),
              "VM g: transient domains from kernel= need libvirt's QEMU driver, not \"Xen\" "
              "(define a persistent domain named g instead)");
    EXPECT_EQ(error(tcg, "TEST"),
              "VM g: transient domains from kernel= and domain_type= need libvirt's QEMU driver, "
              "not \"TEST\" (define a persistent domain named g instead)");
}

}  // namespace
}  // namespace jitsu::dns
