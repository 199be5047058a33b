// VMSPEC parsing: every key, the defaults, the derived MAC and UUID.
#include <gtest/gtest.h>

#include "common/ip_address.h"
#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

using namespace std::chrono_literals;

const catalog_defaults defaults{
    .ttl = 30, .response_delay = 250ms, .wait_timeout = 3s, .stop = stop_mode::suspend};

TEST(jitsu_dns_spec, minimal_spec_takes_defaults) {
    const auto vm = parse_vm_spec("dns=www.example.org,ip=10.0.0.10,name=www", defaults);
    EXPECT_EQ(vm.name, "www");
    EXPECT_EQ(vm.dns_names, std::vector<std::string>{"www.example.org"});
    EXPECT_EQ(vm.ip, ipv4_address(10, 0, 0, 10));
    EXPECT_FALSE(vm.ip6);
    EXPECT_EQ(vm.ttl, 30U);
    EXPECT_EQ(vm.response_delay, 250ms);
    EXPECT_EQ(vm.wait_timeout, 3s);
    EXPECT_EQ(vm.stop, stop_mode::suspend);
    EXPECT_FALSE(vm.use_synjitsu);
    EXPECT_FALSE(vm.wait_for_key);
    EXPECT_FALSE(vm.wait_for_port);
    EXPECT_EQ(vm.replay, replay_mode::guest);
    EXPECT_TRUE(vm.ports.empty());
    EXPECT_FALSE(vm.memory_kib);
    EXPECT_FALSE(vm.prefix_len);
    EXPECT_FALSE(vm.gateway);
    EXPECT_EQ(vm.boot_delay, 0ms);
    EXPECT_TRUE(vm.kernel.empty() && vm.cmd.empty() && vm.nic.empty() && vm.disks.empty());
    // Xen OUI + the low three bytes of the address.
    EXPECT_EQ(vm.mac.to_string(), "00:16:3e:00:00:0a");
    EXPECT_EQ(vm.uuid, name_based_uuid("www"));
    EXPECT_EQ(vm.origin, "VMSPEC \"dns=www.example.org,ip=10.0.0.10,name=www\"");
    const std::vector<std::pair<std::string, std::string>> raw{
        {"dns", "www.example.org"}, {"ip", "10.0.0.10"}, {"name", "www"}};
    EXPECT_EQ(vm.raw, raw);
}

TEST(jitsu_dns_spec, every_key) {
    const std::string spec =
        "dns=WWW.Example.ORG.,dns=alt.example.org,ip=10.1.2.3,ip6=fd00::1:2,name=web_1.a-b,"
        "mac=02:AA:bb:cc:dd:ee,kernel=/boot/mir-www.xen,memory=64000,cmdline=-v --x=y,nic=br0,"
        "script=/etc/xen/scripts/vif-bridge,disk=/dev/loop5@xvda,disk=/dev/loop6@xvdb,"
        "rumprun_config=json.cfg,response_delay=0.1,wait_for_key=data/status,wait_timeout=2.5,"
        "use_synjitsu=yes,stop_mode=shutdown,ttl=60,uuid=1CA0FFEE-0000-4000-8000-00000000AB60,"
        "cmd=/usr/bin/jitsu-httpd --port 80 --body a=b,boot_delay=1.25,prefix=16,gateway=10.1.0.1";
    const auto vm = parse_vm_spec(spec, defaults);
    EXPECT_EQ(vm.dns_names, (std::vector<std::string>{"www.example.org", "alt.example.org"}));
    EXPECT_EQ(vm.ip, ipv4_address(10, 1, 2, 3));
    EXPECT_EQ(vm.ip6, ipv6_address::parse("fd00::1:2"));
    EXPECT_EQ(vm.name, "web_1.a-b");
    EXPECT_EQ(vm.mac.to_string(), "02:aa:bb:cc:dd:ee");
    EXPECT_EQ(vm.kernel, "/boot/mir-www.xen");
    EXPECT_EQ(vm.memory_kib, 64000U);
    EXPECT_EQ(vm.cmdline, "-v --x=y");  // '=' after the first belongs to the value
    EXPECT_EQ(vm.nic, "br0");
    EXPECT_EQ(vm.script, "/etc/xen/scripts/vif-bridge");
    EXPECT_EQ(vm.disks, (std::vector<std::string>{"/dev/loop5@xvda", "/dev/loop6@xvdb"}));
    EXPECT_EQ(vm.rumprun_config, "json.cfg");
    EXPECT_EQ(vm.response_delay, 100ms);
    EXPECT_EQ(vm.wait_for_key, "data/status");
    EXPECT_EQ(vm.wait_timeout, 2500ms);
    EXPECT_TRUE(vm.use_synjitsu);
    EXPECT_EQ(vm.stop, stop_mode::shutdown);
    EXPECT_EQ(vm.ttl, 60U);
    EXPECT_EQ(vm.uuid, "1ca0ffee-0000-4000-8000-00000000ab60");
    EXPECT_EQ(vm.cmd, "/usr/bin/jitsu-httpd --port 80 --body a=b");
    EXPECT_EQ(vm.boot_delay, 1250ms);
    EXPECT_EQ(vm.prefix_len, 16);
    EXPECT_EQ(vm.gateway, ip_address(ipv4_address(10, 1, 0, 1)));
    ASSERT_EQ(vm.raw.size(), 25U);
    EXPECT_EQ(vm.raw[0], (std::pair<std::string, std::string>{"dns", "WWW.Example.ORG."}));
    EXPECT_EQ(vm.raw[8], (std::pair<std::string, std::string>{"cmdline", "-v --x=y"}));
}

// An IPv6-only netns VM routes through an IPv6 gateway (its one address is ip6=).
TEST(jitsu_dns_spec, ip6_only_vm_takes_an_ipv6_gateway) {
    const auto vm = parse_vm_spec(
        "name=v6,dns=v6.example.org,ip6=fd00:a::10,prefix=64,gateway=fd00:a::fe", defaults);
    EXPECT_EQ(vm.gateway, ip_address(*ipv6_address::parse("fd00:a::fe")));
    EXPECT_EQ(vm.prefix_len, 64);
}

TEST(jitsu_dns_spec, wait_for_port_replay_and_ports) {
    const auto plain = parse_vm_spec(
        "name=a,dns=a.example,ip=10.0.0.1,wait_for_port=8080,wait_timeout=7", defaults);
    EXPECT_EQ(plain.wait_for_port, 8080);
    EXPECT_EQ(plain.wait_timeout, 7s);
    EXPECT_EQ(plain.replay, replay_mode::guest);
    const auto edges = [](const std::string& v) {
        return parse_vm_spec("name=a,dns=a.example,ip=10.0.0.1,wait_for_port=" + v, defaults)
            .wait_for_port;
    };
    EXPECT_EQ(edges("1"), 1);
    EXPECT_EQ(edges("65535"), 65535);

    // Host replay: the ports in the order given; wait_for_port may be one of them or not.
    const auto host = parse_vm_spec(
        "name=a,dns=a.example,ip=10.0.0.1,use_synjitsu=1,replay=host,port=443,port=80,"
        "wait_for_port=8080",
        defaults);
    EXPECT_EQ(host.replay, replay_mode::host);
    EXPECT_EQ(host.ports, (std::vector<std::uint16_t>{443, 80}));
    EXPECT_EQ(host.wait_for_port, 8080);
    ASSERT_EQ(host.raw.size(), 8U);
    EXPECT_EQ(host.raw[5], (std::pair<std::string, std::string>{"port", "443"}));
    EXPECT_EQ(host.raw[7], (std::pair<std::string, std::string>{"wait_for_port", "8080"}));

    // replay=guest is the default, so saying it is allowed anywhere; eight ports are (what
    // synjitsu's booting entry carries), also with wait_for_port naming one of them.
    EXPECT_EQ(parse_vm_spec("name=a,dns=a.example,ip=10.0.0.1,replay=guest", defaults).replay,
              replay_mode::guest);
    std::string spec = "name=a,dns=a.example,ip=10.0.0.1,use_synjitsu=1,replay=host";
    for (int p = 1; p <= 8; ++p) spec += ",port=" + std::to_string(p);
    EXPECT_EQ(parse_vm_spec(spec, defaults).ports.size(), 8U);
    EXPECT_EQ(parse_vm_spec(spec + ",wait_for_port=8", defaults).wait_for_port, 8);
    // With use_synjitsu, wait_for_port is allowed (synjitsu masks; its port is a hint).
    EXPECT_EQ(
        parse_vm_spec("name=a,dns=a.example,ip=10.0.0.1,use_synjitsu=1,wait_for_port=80", defaults)
            .wait_for_port,
        80);
}

TEST(jitsu_dns_spec, libvirt_transient_domain_keys) {
    const auto vm = parse_vm_spec(
        "name=g,dns=g.example,ip=10.0.0.9,kernel=/img/vmlinuz,initrd=/img/initramfs.cpio.gz,"
        "domain_type=qemu,memory=262144,cmdline=console=ttyS0 jitsu.ip=10.0.0.9/24",
        defaults);
    EXPECT_EQ(vm.kernel, "/img/vmlinuz");
    EXPECT_EQ(vm.initrd, "/img/initramfs.cpio.gz");
    EXPECT_EQ(vm.domain_type, libvirt_domain_type::qemu);
    EXPECT_EQ(vm.cmdline, "console=ttyS0 jitsu.ip=10.0.0.9/24");
    EXPECT_EQ(vm.raw[4], (std::pair<std::string, std::string>{"initrd", "/img/initramfs.cpio.gz"}));
    EXPECT_EQ(parse_vm_spec("name=g,dns=g.example,ip=10.0.0.9,kernel=/k,domain_type=kvm", defaults)
                  .domain_type,
              libvirt_domain_type::kvm);
    // Unset: the backend decides (kvm when libvirt reports KVM usable).
    const auto plain = parse_vm_spec("name=g,dns=g.example,ip=10.0.0.9,kernel=/k", defaults);
    EXPECT_FALSE(plain.domain_type);
    EXPECT_TRUE(plain.initrd.empty());
}

TEST(jitsu_dns_spec, ip6_only_vm_derives_mac_from_ip6) {
    const auto vm =
        parse_vm_spec("name=v6,dns=v6.example.org,ip6=fd00::ab:cdef,prefix=64", defaults);
    EXPECT_FALSE(vm.ip);
    EXPECT_EQ(vm.mac.to_string(), "00:16:3e:ab:cd:ef");
    EXPECT_EQ(vm.prefix_len, 64);
}

TEST(jitsu_dns_spec, ip_wins_over_ip6_for_the_derived_mac) {
    const auto vm =
        parse_vm_spec("name=a,dns=a.example,ip=192.168.7.9,ip6=fd00::ff:ffff", defaults);
    EXPECT_EQ(vm.mac.to_string(), "00:16:3e:a8:07:09");
}

TEST(jitsu_dns_spec, seconds_values) {
    const auto delay = [](const std::string& v) {
        return parse_vm_spec("name=a,dns=a.example,ip=10.0.0.1,response_delay=" + v, defaults)
            .response_delay;
    };
    EXPECT_EQ(delay("0"), 0ms);
    EXPECT_EQ(delay("0.001"), 1ms);
    EXPECT_EQ(delay("0.05"), 50ms);
    EXPECT_EQ(delay("3"), 3000ms);
    EXPECT_EQ(delay("3600"), 3600s);
    EXPECT_EQ(delay("3600.000"), 3600s);
}

TEST(jitsu_dns_spec, booleans_and_stop_modes) {
    const auto syn = [](const std::string& v) {
        return parse_vm_spec("name=a,dns=a.example,ip=10.0.0.1,use_synjitsu=" + v, defaults)
            .use_synjitsu;
    };
    for (const char* t : {"1", "true", "TRUE", "yes", "Yes"}) EXPECT_TRUE(syn(t)) << t;
    for (const char* f : {"0", "false", "no", "NO"}) EXPECT_FALSE(syn(f)) << f;
    const auto mode = [](const std::string& v) {
        return parse_vm_spec("name=a,dns=a.example,ip=10.0.0.1,stop_mode=" + v, defaults).stop;
    };
    EXPECT_EQ(mode("destroy"), stop_mode::destroy);
    EXPECT_EQ(mode("suspend"), stop_mode::suspend);
    EXPECT_EQ(mode("shutdown"), stop_mode::shutdown);
}

TEST(jitsu_dns_spec, dns_name_limits) {
    const std::string label63(63, 'a');
    // 253 characters: 3 labels of 63 + a label of 61, with 3 dots.
    const std::string name253 =
        label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    ASSERT_EQ(name253.size(), 253U);
    const auto vm = parse_vm_spec("name=a,ip=10.0.0.1,dns=" + name253 + ".", defaults);
    EXPECT_EQ(vm.dns_names[0], name253);
    EXPECT_EQ(parse_vm_spec("name=a,ip=10.0.0.1,dns=localhost", defaults).dns_names[0],
              "localhost");
    EXPECT_EQ(parse_vm_spec("name=a,ip=10.0.0.1,dns=1-2.x9", defaults).dns_names[0], "1-2.x9");
    std::string spec = "name=a,ip=10.0.0.1";
    for (int i = 0; i < 64; ++i) spec += ",dns=n" + std::to_string(i) + ".example";
    EXPECT_EQ(parse_vm_spec(spec, defaults).dns_names.size(), 64U);
}

TEST(jitsu_dns_spec, sixteen_disks_and_long_spec_within_bounds) {
    std::string spec = "name=a,ip=10.0.0.1,dns=a.example";
    for (int i = 0; i < 16; ++i)
        spec += ",disk=/dev/loop" + std::to_string(i) + "@xvd" + char('a' + i);
    EXPECT_EQ(parse_vm_spec(spec, defaults).disks.size(), 16U);
    std::string longest = "name=a,ip=10.0.0.1,dns=a.example,cmdline=";
    longest += std::string(catalog_limits::max_spec_bytes - longest.size(), 'x');
    EXPECT_EQ(parse_vm_spec(longest, defaults).cmdline.size(), 4096U - 41U);
}

TEST(jitsu_dns_spec, name_based_uuid_is_stable_and_v5) {
    const auto a = name_based_uuid("www");
    EXPECT_EQ(a, name_based_uuid("www"));
    EXPECT_NE(a, name_based_uuid("www2"));
    ASSERT_EQ(a.size(), 36U);
    EXPECT_EQ(a[14], '5');                                                      // version nibble
    EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');  // RFC 4122 variant
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef-"), std::string::npos);
    // Fixed forever: changing the namespace would give every VM a new identity.
    // Cross-checked with Python: uuid.uuid5(UUID("9ff5b775-..."), "www").
    EXPECT_EQ(a, "7d3ec6be-67f9-53a0-addb-43bea0d488a3") << "namespace UUID changed?";
}

}  // namespace
}  // namespace jitsu::dns
