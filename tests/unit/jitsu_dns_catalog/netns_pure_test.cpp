// The netns backend's pure pieces: jitsu-netvm's argv, domid choice, /proc command lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "jitsu_dns/catalog.h"
#include "jitsu_dns/netns_backend.h"
#include "temp_dir.h"

namespace jitsu::dns {
namespace {

using strings = std::vector<std::string>;

vm_spec spec(const std::string& text) { return parse_vm_spec(text, catalog_defaults{}); }

std::string error_of(const vm_spec& vm, const backend_options& o = {}) {
    try {
        netvm_argv(vm, 1, "jitsu-netvm", o);
    } catch (const backend_error& e) {
        return e.what();
    }
    return "accepted";
}

TEST(jitsu_dns_netns, argv_minimal) {
    const auto vm = spec("name=www,dns=www.example.org,ip=10.0.0.10,nic=br0,cmd=/bin/httpd");
    EXPECT_EQ(netvm_argv(vm, 3, "/opt/bin/jitsu-netvm", {}),
              (strings{"/opt/bin/jitsu-netvm", "--name", "www", "--bridge", "br0", "--ip",
                       "10.0.0.10/24", "--mac", "00:16:3e:00:00:0a", "--boot-delay", "0.000",
                       "--domid", "3", "--", "/bin/httpd"}));
}

TEST(jitsu_dns_netns, argv_wait_for_port_is_the_port_to_listen_on) {
    const auto vm = spec(
        "name=www,dns=www.example.org,ip=10.0.0.10,nic=br0,wait_for_port=8080,"
        "cmd=/bin/httpd -p 8080");
    EXPECT_EQ(netvm_argv(vm, 3, "jitsu-netvm", {}),
              (strings{"jitsu-netvm", "--name", "www", "--bridge", "br0", "--ip", "10.0.0.10/24",
                       "--mac", "00:16:3e:00:00:0a", "--boot-delay", "0.000", "--domid", "3",
                       "--listen", "8080", "--", "/bin/httpd", "-p", "8080"}));
}

TEST(jitsu_dns_netns, argv_every_option) {
    const auto vm = spec(
        "name=www,dns=www.example.org,ip=10.0.0.10,nic=br0,prefix=16,gateway=10.0.0.1,"
        "mac=02:00:00:00:00:0a,boot_delay=1.05,wait_for_key=data/status,"
        "cmd=  /bin/httpd  --port 80 --body a=b ");
    backend_options o;
    o.bridge_netns = "host";
    o.netvm_extra_args = {"-v", "--listen-timeout", "5"};
    EXPECT_EQ(netvm_argv(vm, 12, "jitsu-netvm", o), (strings{"jitsu-netvm",
                                                             "--name",
                                                             "www",
                                                             "--bridge",
                                                             "br0",
                                                             "--ip",
                                                             "10.0.0.10/16",
                                                             "--mac",
                                                             "02:00:00:00:00:0a",
                                                             "--gateway",
                                                             "10.0.0.1",
                                                             "--boot-delay",
                                                             "1.050",
                                                             "--domid",
                                                             "12",
                                                             "--ready-key",
                                                             "data/status",
                                                             "--netns-of-bridge",
                                                             "host",
                                                             "-v",
                                                             "--listen-timeout",
                                                             "5",
                                                             "--",
                                                             "/bin/httpd",
                                                             "--port",
                                                             "80",
                                                             "--body",
                                                             "a=b"}));
}

TEST(jitsu_dns_netns, argv_ip6_only_vm) {
    const auto vm = spec("name=v6,dns=v6.example.org,ip6=fd00::10,nic=br0,cmd=srv");
    const auto argv = netvm_argv(vm, 1, "jitsu-netvm", {});
    EXPECT_EQ(argv[6], "fd00::10/64");
    backend_options o;
    o.default_prefix_v6 = 112;
    EXPECT_EQ(netvm_argv(vm, 1, "jitsu-netvm", o)[6], "fd00::10/112");
}

// An IPv6-only VM reaches off-link clients through an IPv6 gateway (gateway= used to
// take IPv4 only, so such a VM could not answer a client behind a router).
TEST(jitsu_dns_netns, argv_ip6_only_vm_with_gateway) {
    const auto vm =
        spec("name=v6,dns=v6.example.org,ip6=fd00:a::10,gateway=fd00:a::fe,nic=br0,cmd=srv");
    const auto argv = netvm_argv(vm, 1, "jitsu-netvm", {});
    const auto at = std::find(argv.begin(), argv.end(), "--gateway");
    ASSERT_NE(at, argv.end());
    ASSERT_NE(at + 1, argv.end());
    EXPECT_EQ(*(at + 1), "fd00:a::fe");
    EXPECT_EQ(argv[6], "fd00:a::10/64");
}

TEST(jitsu_dns_netns, argv_errors_name_the_vm) {
    EXPECT_EQ(error_of(spec("name=www,dns=w.example,ip=10.0.0.1,cmd=srv")),
              "VM www: netns backend: nic= (the bridge to attach the VM to) is required");
    EXPECT_EQ(error_of(spec("name=www,dns=w.example,ip=10.0.0.1,nic=br0")),
              "VM www: netns backend: cmd= (the server to run) is required");
    EXPECT_EQ(error_of(spec("name=www,dns=w.example,ip=10.0.0.1,ip6=fd00::1,nic=br0,cmd=srv")),
              "VM www: netns backend: a VM has one address on this backend: give ip= or ip6=, "
              "not both");
    const std::string long_name(33, 'n');
    EXPECT_EQ(error_of(spec("name=" + long_name + ",dns=w.example,ip=10.0.0.1,nic=br0,cmd=srv")),
              "VM " + long_name +
                  ": netns backend: name= may have at most 32 characters for jitsu-netvm");
    EXPECT_EQ(error_of(spec("name=" + std::string(32, 'n') +
                            ",dns=w.example,ip=10.0.0.1,nic=br0,cmd=srv")),
              "accepted");
}

TEST(jitsu_dns_netns, lowest_free_domid) {
    EXPECT_EQ(lowest_free_domid({}), 1U);
    EXPECT_EQ(lowest_free_domid({0}), 1U);
    EXPECT_EQ(lowest_free_domid({1, 2, 3}), 4U);
    EXPECT_EQ(lowest_free_domid({1, 3}), 2U);
    EXPECT_EQ(lowest_free_domid({2, 3}), 1U);
    EXPECT_EQ(lowest_free_domid({0, 1, 2, 7, 9}), 3U);
}

std::string nul_join(const strings& args) {
    std::string out;
    for (const auto& a : args) {
        out += a;
        out += '\0';
    }
    return out;
}

TEST(jitsu_dns_netns, parse_netvm_cmdline) {
    const auto direct =
        parse_netvm_cmdline(nul_join({"/usr/bin/jitsu-netvm", "--name", "www", "--bridge", "br0",
                                      "--domid", "7", "--", "srv", "--name", "x", "--domid", "9"}),
                            "jitsu-netvm");
    ASSERT_TRUE(direct);
    EXPECT_EQ(direct->name, "www");
    EXPECT_EQ(direct->domid, 7U);
    const auto script = parse_netvm_cmdline(
        nul_join({"/bin/bash", "/tmp/x/fake-netvm", "--name=a.b", "--domid=4294967295"}),
        "fake-netvm");
    ASSERT_TRUE(script);
    EXPECT_EQ(script->name, "a.b");
    EXPECT_EQ(script->domid, 4294967295U);
    const auto no_domid = parse_netvm_cmdline(
        nul_join({"jitsu-netvm", "--domid", "x1", "--name", "n"}), "jitsu-netvm");
    ASSERT_TRUE(no_domid);
    EXPECT_FALSE(no_domid->domid);
    EXPECT_FALSE(
        parse_netvm_cmdline(nul_join({"jitsu-netvm", "--domid", "4294967296", "--name", "n"}),
                            "jitsu-netvm")
            ->domid);
    // Not a jitsu-netvm, or no name of its own (only CMD's).
    EXPECT_FALSE(parse_netvm_cmdline(nul_join({"/usr/bin/other", "--name", "www"}), "jitsu-netvm"));
    EXPECT_FALSE(
        parse_netvm_cmdline(nul_join({"/usr/bin/jitsu-netvm2", "--name", "www"}), "jitsu-netvm"));
    EXPECT_FALSE(parse_netvm_cmdline(nul_join({"jitsu-netvm", "--", "srv", "--name", "www"}),
                                     "jitsu-netvm"));
    EXPECT_FALSE(parse_netvm_cmdline(nul_join({"jitsu-netvm", "--name"}), "jitsu-netvm"));
    EXPECT_FALSE(parse_netvm_cmdline("", "jitsu-netvm"));
    // Without the final NUL (a process that rewrote its command line).
    const auto unterminated =
        parse_netvm_cmdline(std::string("jitsu-netvm\0--name\0www", 22), "jitsu-netvm");
    ASSERT_TRUE(unterminated);
    EXPECT_EQ(unterminated->name, "www");
}

TEST(jitsu_dns_netns, remove_named_netns_of_a_plain_file_and_a_missing_one) {
    testing::temp_dir dir;
    dir.write("leftover", "");
    remove_named_netns(dir.path().string(), "leftover");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "leftover"));
    EXPECT_NO_THROW(remove_named_netns(dir.path().string(), "never-there"));
}

TEST(jitsu_dns_netns, make_backend_kinds) {
    EXPECT_EQ(make_backend("netns", {})->kind(), "netns");
    try {
        make_backend("qemu", {});
        FAIL() << "accepted";
    } catch (const backend_error& e) {
        EXPECT_STREQ(e.what(), "unknown backend \"qemu\" (expected netns, libvirt or libxl)");
    }
}

}  // namespace
}  // namespace jitsu::dns
