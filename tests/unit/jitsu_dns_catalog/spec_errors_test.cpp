// Every rejection of a VMSPEC: one line, naming the spec and the key, saying what is wrong.
#include <gtest/gtest.h>

#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

const catalog_defaults defaults{};
const std::string base = "name=www,dns=www.example.org,ip=10.0.0.10";

struct error_case {
    std::string spec;
    std::string key;     // expected spec_error::key()
    std::string detail;  // expected spec_error::detail(), exactly
};

spec_error parse_error(const std::string& spec) {
    try {
        parse_vm_spec(spec, defaults);
    } catch (const spec_error& e) {
        return e;
    }
    ADD_FAILURE() << "accepted: " << spec;
    return spec_error("", "", "");
}

void expect_rejected(const error_case& c) {
    const spec_error e = parse_error(c.spec);
    EXPECT_EQ(e.key(), c.key) << c.spec;
    EXPECT_EQ(e.detail(), c.detail) << c.spec;
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_EQ(what.rfind("VMSPEC \"", 0), 0U) << what;
    if (!c.key.empty()) {
        EXPECT_NE(what.find("\": " + c.key + ": "), std::string::npos) << what;
    }
}

TEST(jitsu_dns_spec_errors, message_shape_of_the_brief) {
    const spec_error e = parse_error("name=www,ip=10.0.0.300,dns=www.example.org");
    EXPECT_STREQ(
        e.what(),
        "VMSPEC \"name=www,ip=10.0.0.300,dns=www.example.org\": ip: \"10.0.0.300\" is not an "
        "IPv4 address");
}

TEST(jitsu_dns_spec_errors, required_keys) {
    for (const error_case& c : std::vector<error_case>{
             {"dns=a.example,ip=10.0.0.1", "name", "missing (name= is required)"},
             {"name=a,ip=10.0.0.1", "dns", "missing (at least one dns= is required)"},
             {"name=a,dns=a.example", "ip", "missing (ip= or ip6= is required)"},
         }) {
        expect_rejected(c);
    }
}

TEST(jitsu_dns_spec_errors, structure) {
    for (const error_case& c : std::vector<error_case>{
             {"", "", "empty"},
             {base + ",", "", "item 4 is empty (stray ',')"},
             {"," + base, "", "item 1 is empty (stray ',')"},
             {base + ",,ttl=5", "", "item 4 is empty (stray ',')"},
             {base + ",kernel", "kernel", "not key=value"},
             {base + ",=x", "", "item 4 has an empty key"},
             {base + ",frob=1", "frob",
              "unknown key (known: dns, ip, ip6, name, mac, kernel, "
              "initrd, domain_type, memory, cmdline, nic, script, disk, rumprun_config, "
              "response_delay, wait_for_key, wait_timeout, use_synjitsu, "
              "stop_mode, ttl, uuid, cmd, boot_delay, prefix, gateway, "
              "wait_for_port, replay, port)"},
             {base + ",IP=10.0.0.2", "IP", parse_error(base + ",frob=1").detail()},
             {base + ",ip=10.0.0.11", "ip", "given twice"},
             {base + ",name=b", "name", "given twice"},
             {base + ",ttl=5,ttl=6", "ttl", "given twice"},
             {base + ",wait_for_port=80,wait_for_port=81", "wait_for_port", "given twice"},
             {base + ",use_synjitsu=1,replay=host,replay=host", "replay", "given twice"},
             {base + ",dns=WWW.example.org.", "dns", "\"www.example.org\" given twice"},
             {base + ",cmd=a\tb", "", "byte 47 is outside printable ASCII"},
             {base + ",kernel=" + std::string(4096, 'k'), "",
              "too long (4145 bytes, at most 4096)"},
         }) {
        expect_rejected(c);
    }
}

TEST(jitsu_dns_spec_errors, values) {
    const std::string n = "name=a,dns=a.example,";
    const std::string nip = n + "ip=10.0.0.1,";
    for (
        const error_case& c : std::vector<error_case>{
            {n + "ip=10.0.0.300", "ip", "\"10.0.0.300\" is not an IPv4 address"},
            {n + "ip=010.0.0.1", "ip", "\"010.0.0.1\" is not an IPv4 address"},
            {n + "ip=", "ip", "\"\" is not an IPv4 address"},
            {n + "ip=0.0.0.0", "ip", "\"0.0.0.0\" is not a unicast address"},
            {n + "ip=224.0.0.1", "ip", "\"224.0.0.1\" is not a unicast address"},
            {n + "ip=255.255.255.255", "ip", "\"255.255.255.255\" is not a unicast address"},
            {n + "ip6=fd00::zz", "ip6", "\"fd00::zz\" is not an IPv6 address"},
            {n + "ip6=10.0.0.1", "ip6", "\"10.0.0.1\" is not an IPv6 address"},
            {n + "ip6=::", "ip6", "\"::\" is not a unicast address"},
            {n + "ip6=ff02::1", "ip6", "\"ff02::1\" is not a unicast address"},
            {"dns=a.example,ip=10.0.0.1,name=", "name",
             "\"\" is not a VM name (1-64 of [A-Za-z0-9_.-], not starting with -, not . or ..)"},
            {"dns=a.example,ip=10.0.0.1,name=..", "name",
             "\"..\" is not a VM name (1-64 of [A-Za-z0-9_.-], not starting with -, not . or ..)"},
            {"dns=a.example,ip=10.0.0.1,name=--", "name",
             "\"--\" is not a VM name (1-64 of [A-Za-z0-9_.-], not starting with -, not . or ..)"},
            {"dns=a.example,ip=10.0.0.1,name=a/b", "name",
             "\"a/b\" is not a VM name (1-64 of [A-Za-z0-9_.-], not starting with -, not . or ..)"},
            {"dns=a.example,ip=10.0.0.1,name=" + std::string(65, 'n'), "name",
             std::string{"\""} + std::string(65, 'n') +
                 "\" is not a VM name (1-64 of [A-Za-z0-9_.-], not starting with -, not . or ..)"},
            {nip + "dns=", "dns", "\"\" is not a valid host name (empty)"},
            {nip + "dns=.", "dns", "\".\" is not a valid host name (empty)"},
            {nip + "dns=a..b", "dns", "\"a..b\" is not a valid host name (empty label)"},
            {nip + "dns=-a.b", "dns",
             "\"-a.b\" is not a valid host name (label starts or ends with '-')"},
            {nip + "dns=a-.b", "dns",
             "\"a-.b\" is not a valid host name (label starts or ends with '-')"},
            {nip + "dns=a_b.c", "dns",
             "\"a_b.c\" is not a valid host name (only letters, digits, '-' and '.' are allowed)"},
            {nip + "dns=" + std::string(64, 'l') + ".x", "dns",
             std::string{"\""} + std::string(64, 'l') +
                 ".x\" is not a valid host name (label longer than 63 characters)"},
            {nip + "mac=00:16:3e:00:00", "mac", "\"00:16:3e:00:00\" is not a MAC address"},
            {nip + "mac=01:00:5e:00:00:01", "mac",
             "\"01:00:5e:00:00:01\" is not a unicast MAC address"},
            {nip + "mac=00:00:00:00:00:00", "mac",
             "\"00:00:00:00:00:00\" is not a unicast MAC address"},
            {nip + "kernel=", "kernel", "empty value"},
            {nip + "memory=0", "memory", "\"0\" is not an integer from 1 to 4294967296"},
            {nip + "memory=-1", "memory", "\"-1\" is not an integer from 1 to 4294967296"},
            {nip + "memory=064000", "memory", "\"064000\" is not an integer from 1 to 4294967296"},
            {nip + "memory=64M", "memory", "\"64M\" is not an integer from 1 to 4294967296"},
            {nip + "memory=4294967297", "memory",
             "\"4294967297\" is not an integer from 1 to 4294967296"},
            {nip + "memory=99999999999999999999999", "memory",
             "\"99999999999999999999999\" is not an integer from 1 to 4294967296"},
            {nip + "cmdline=", "cmdline", "empty value"},
            {nip + "nic=", "nic",
             "\"\" is not an interface name (1-15 printable characters, no '/', ':' or space)"},
            {nip + "nic=a-very-long-bridge", "nic",
             "\"a-very-long-bridge\" is not an interface name (1-15 printable characters, no '/', "
             "':' or "
             "space)"},
            {nip + "nic=br/0", "nic",
             "\"br/0\" is not an interface name (1-15 printable characters, no '/', ':' or space)"},
            {nip + "script=", "script", "empty value"},
            {nip + "disk=/dev/loop5", "disk",
             "\"/dev/loop5\" is not TARGET@VDEV (e.g. /dev/loop5@xvda)"},
            {nip + "disk=@xvda", "disk", "\"@xvda\" is not TARGET@VDEV (e.g. /dev/loop5@xvda)"},
            {nip + "disk=/dev/x@", "disk", "\"/dev/x@\" is not TARGET@VDEV (e.g. /dev/loop5@xvda)"},
            {nip + "disk=/dev/x@XVDA", "disk",
             "\"/dev/x@XVDA\" is not TARGET@VDEV (e.g. /dev/loop5@xvda)"},
            {nip + "disk=/dev/x@1a", "disk",
             "\"/dev/x@1a\" is not TARGET@VDEV (e.g. /dev/loop5@xvda)"},
            {nip + "rumprun_config=", "rumprun_config", "empty value"},
            {nip + "response_delay=-1", "response_delay",
             "\"-1\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "response_delay=0.0001", "response_delay",
             "\"0.0001\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "response_delay=.5", "response_delay",
             "\".5\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "response_delay=5.", "response_delay",
             "\"5.\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "response_delay=3600.001", "response_delay",
             "\"3600.001\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "response_delay=1e3", "response_delay",
             "\"1e3\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "response_delay=99999999999", "response_delay",
             "\"99999999999\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "wait_timeout=1,5", "5", "not key=value"},  // a decimal comma splits the spec
            {nip + "wait_timeout=x", "wait_timeout",
             "\"x\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "boot_delay=4000", "boot_delay",
             "\"4000\" is not a number of seconds from 0 to 3600 with at most 3 decimals"},
            {nip + "wait_for_key=/data/status", "wait_for_key",
             "\"/data/status\" is not a relative Xenstore path (1-256 of [A-Za-z0-9_@/-], no "
             "leading, "
             "trailing or double '/')"},
            {nip + "wait_for_key=data//status", "wait_for_key",
             "\"data//status\" is not a relative Xenstore path (1-256 of [A-Za-z0-9_@/-], no "
             "leading, "
             "trailing or double '/')"},
            {nip + "wait_for_key=data/", "wait_for_key",
             "\"data/\" is not a relative Xenstore path (1-256 of [A-Za-z0-9_@/-], no leading, "
             "trailing "
             "or double '/')"},
            {nip + "wait_for_key=data.status", "wait_for_key",
             "\"data.status\" is not a relative Xenstore path (1-256 of [A-Za-z0-9_@/-], no "
             "leading, "
             "trailing or double '/')"},
            {nip + "use_synjitsu=2", "use_synjitsu",
             "\"2\" is not one of 1, 0, true, false, yes, no"},
            {nip + "stop_mode=pause", "stop_mode",
             "\"pause\" is not one of destroy, suspend, shutdown"},
            {nip + "ttl=0", "ttl", "\"0\" is not an integer from 1 to 604800"},
            {nip + "ttl=604801", "ttl", "\"604801\" is not an integer from 1 to 604800"},
            {nip + "uuid=1ca0ffee-0000-4000-8000-00000000ab6", "uuid",
             "\"1ca0ffee-0000-4000-8000-00000000ab6\" is not a UUID (8-4-4-4-12 hex digits)"},
            {nip + "uuid=1ca0ffee-0000-4000-8000-00000000ab6g", "uuid",
             "\"1ca0ffee-0000-4000-8000-00000000ab6g\" is not a UUID (8-4-4-4-12 hex digits)"},
            {nip + "uuid=1ca0ffee00000-4000-8000-00000000ab6", "uuid",
             "\"1ca0ffee00000-4000-8000-00000000ab6\" is not a UUID (8-4-4-4-12 hex digits)"},
            {nip + "uuid=00000000-0000-0000-0000-000000000000", "uuid",
             "the nil UUID is not a VM's identity"},
            {nip + "cmd=", "cmd", "empty value"},
            {nip + "cmd=   ", "cmd", "no program (cmd= is split on spaces)"},
            {nip + "prefix=0", "prefix", "0 is not a prefix length from 1 to 32 for ip="},
            {nip + "prefix=33", "prefix", "33 is not a prefix length from 1 to 32 for ip="},
            {n + "ip6=fd00::1,prefix=129", "prefix", "\"129\" is not an integer from 0 to 128"},
            {nip + "prefix=x", "prefix", "\"x\" is not an integer from 0 to 128"},
            {nip + "gateway=10.0.0", "gateway", "\"10.0.0\" is not an IPv4 address"},
            {n + "ip6=fd00::1,gateway=10.0.0.1", "gateway", "an IPv4 gateway needs ip="},
            {nip + "gateway=fd00::1", "gateway",
             "an IPv6 gateway needs an IPv6-only VM (ip6= without ip=)"},
            {n + "ip=10.0.0.1,ip6=fd00::1,gateway=fd00::fe", "gateway",
             "an IPv6 gateway needs an IPv6-only VM (ip6= without ip=)"},
            {n + "ip6=fd00::1,gateway=fd00::g", "gateway", "\"fd00::g\" is not an IPv6 address"},
            {n + "ip6=fd00::1,gateway=ff02::1", "gateway", "\"ff02::1\" is not a unicast address"},
            {nip + "wait_for_port=0", "wait_for_port", "\"0\" is not an integer from 1 to 65535"},
            {nip + "wait_for_port=65536", "wait_for_port",
             "\"65536\" is not an integer from 1 to 65535"},
            {nip + "wait_for_port=080", "wait_for_port",
             "\"080\" is not an integer from 1 to 65535"},
            {nip + "wait_for_port=http", "wait_for_port",
             "\"http\" is not an integer from 1 to 65535"},
            {nip + "wait_for_port=", "wait_for_port", "\"\" is not an integer from 1 to 65535"},
            {nip + "replay=both", "replay", "\"both\" is not one of guest, host"},
            {nip + "replay=HOST", "replay", "\"HOST\" is not one of guest, host"},
            {nip + "replay=", "replay", "\"\" is not one of guest, host"},
            {nip + "use_synjitsu=1,replay=host,port=0", "port",
             "\"0\" is not an integer from 1 to 65535"},
            {nip + "use_synjitsu=1,replay=host,port=99999", "port",
             "\"99999\" is not an integer from 1 to 65535"},
            {nip + "use_synjitsu=1,replay=host,port=80,port=443,port=80", "port", "80 given twice"},
        }) {
        expect_rejected(c);
    }
}

// Keys that contradict each other: caught once the whole spec is read, named by the key
// that asks for what cannot be.
TEST(jitsu_dns_spec_errors, masking_mode_combinations) {
    for (const error_case& c : std::vector<error_case>{
             {base + ",wait_for_key=data/status,wait_for_port=80", "wait_for_port",
              "wait_for_key is given too (a VM waits for its key or its port)"},
             {base + ",wait_for_port=80,wait_for_key=data/status", "wait_for_port",
              "wait_for_key is given too (a VM waits for its key or its port)"},
             {base + ",replay=host", "replay",
              "replay=host needs use_synjitsu=1 (synjitsu replays the queued SYNs)"},
             {base + ",replay=host,use_synjitsu=0", "replay",
              "replay=host needs use_synjitsu=1 (synjitsu replays the queued SYNs)"},
             {base + ",port=80", "port",
              "port= is the host replay's probe hint: it needs replay=host"},
             {base + ",use_synjitsu=1,port=80", "port",
              "port= is the host replay's probe hint: it needs replay=host"},
             {base + ",use_synjitsu=1,replay=guest,port=80", "port",
              "port= is the host replay's probe hint: it needs replay=host"},
         }) {
        expect_rejected(c);
    }
}

TEST(jitsu_dns_spec_errors, libvirt_transient_domain_keys) {
    const std::string k = base + ",kernel=/boot/vmlinuz,";
    for (const error_case& c : std::vector<error_case>{
             {k + "initrd=", "initrd", "empty value"},
             {k + "initrd=/a,initrd=/b", "initrd", "given twice"},
             {k + "domain_type=xen", "domain_type", "\"xen\" is not one of kvm, qemu"},
             {k + "domain_type=KVM", "domain_type", "\"KVM\" is not one of kvm, qemu"},
             {k + "domain_type=", "domain_type", "\"\" is not one of kvm, qemu"},
             {k + "domain_type=qemu,domain_type=kvm", "domain_type", "given twice"},
             // Without kernel= there is no domain to shape: a persistent domain has its own.
             {base + ",initrd=/boot/initrd.img", "initrd", "needs kernel="},
             {base + ",domain_type=qemu", "domain_type", "needs kernel="},
         }) {
        expect_rejected(c);
    }
}

TEST(jitsu_dns_spec_errors, bounds_on_repeated_keys) {
    std::string spec = "name=a,ip=10.0.0.1";
    for (int i = 0; i < 65; ++i) spec += ",dns=n" + std::to_string(i) + ".example";
    expect_rejected({spec, "dns", "more than 64 names"});
    spec = base;
    for (int i = 0; i < 17; ++i) spec += ",disk=/d" + std::to_string(i) + "@xvda";
    expect_rejected({spec, "disk", "more than 16 disks"});
    spec = base + ",use_synjitsu=1,replay=host";
    for (int i = 1; i <= 9; ++i) spec += ",port=" + std::to_string(i);
    expect_rejected({spec, "port", "more than 8 ports"});
    // wait_for_port's port goes to synjitsu too: 8 port= and a ninth port is too many.
    spec = base + ",use_synjitsu=1,replay=host,wait_for_port=99";
    for (int i = 1; i <= 8; ++i) spec += ",port=" + std::to_string(i);
    expect_rejected({spec, "wait_for_port",
                     "with 8 port= values, its port makes more than 8 (what synjitsu's booting "
                     "entry carries)"});
    spec = base + ",cmd=x";
    for (int i = 0; i < 64; ++i) spec += " a";
    expect_rejected({spec, "cmd", "65 words, at most 64"});
}

TEST(jitsu_dns_spec_errors, hostile_bytes_are_escaped_in_the_message) {
    const std::string spec = base + std::string(",kernel=\x01\"\\\xff", 12);
    const spec_error e = parse_error(spec);
    EXPECT_STREQ(
        e.what(),
        "VMSPEC \"name=www,dns=www.example.org,ip=10.0.0.10,kernel=\\x01\\\"\\\\\\xff\": byte 49 "
        "is outside printable ASCII");
    // A long spec is shortened in the message, which stays one line.
    const spec_error e2 = parse_error(base + ",frob=" + std::string(3000, 'x'));
    EXPECT_LT(std::string(e2.what()).size(), 600U);
    EXPECT_NE(std::string(e2.what()).find("...\": frob: unknown key"), std::string::npos)
        << e2.what();
}

}  // namespace
}  // namespace jitsu::dns
