// Random and mutated VMSPECs: the parser returns a spec that keeps the vm_spec invariants
// or throws a one-line spec_error — never anything else, never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

const std::vector<std::string> seeds{
    "name=www,dns=www.example.org,ip=10.0.0.10",
    "dns=a.example,dns=b.example,ip=10.1.2.3,ip6=fd00::1:2,name=web_1,mac=02:aa:bb:cc:dd:ee,"
    "kernel=/k,memory=64000,cmdline=-v --x=y,nic=br0,script=/s,disk=/dev/loop5@xvda,"
    "rumprun_config=json.cfg,response_delay=0.1,wait_for_key=data/status,wait_timeout=2.5,"
    "use_synjitsu=yes,stop_mode=shutdown,ttl=60,uuid=1ca0ffee-0000-4000-8000-00000000ab60,"
    "cmd=/bin/httpd --port 80,boot_delay=1.25,prefix=16,gateway=10.1.0.1",
    "name=h,dns=h.example,ip=10.0.0.9,use_synjitsu=1,replay=host,port=80,port=443,"
    "wait_for_port=8080,wait_timeout=3",
    "name=g,dns=g.example,ip=10.0.0.9,kernel=/img/vmlinuz,initrd=/img/initrd,domain_type=qemu,"
    "memory=262144,nic=br0,cmdline=console=ttyS0",
};

// Bytes a mutation inserts: the spec's own syntax plus some hostile ones.
const std::string alphabet = ",=.:/@-_ 0123456789abcdefxyzABCDEF\t\xff\0";

void check_invariants(const vm_spec& vm) {
    EXPECT_FALSE(vm.name.empty());
    EXPECT_LE(vm.name.size(), 64U);
    ASSERT_FALSE(vm.dns_names.empty());
    EXPECT_LE(vm.dns_names.size(), catalog_limits::max_dns_names);
    for (const auto& n : vm.dns_names) {
        EXPECT_FALSE(n.empty());
        EXPECT_LE(n.size(), 253U);
        EXPECT_EQ(n.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-."), std::string::npos)
            << n;
        EXPECT_NE(n.back(), '.');
    }
    EXPECT_TRUE(vm.ip || vm.ip6);
    EXPECT_FALSE(vm.mac.is_multicast());
    EXPECT_FALSE(vm.mac.is_zero());
    EXPECT_EQ(vm.uuid.size(), 36U);
    EXPECT_LE(vm.disks.size(), catalog_limits::max_disks);
    EXPECT_LE(vm.response_delay, catalog_limits::max_seconds_value);
    EXPECT_LE(vm.boot_delay, catalog_limits::max_seconds_value);
    EXPECT_GE(vm.ttl, 1U);
    // Masking modes and replay: the combinations the parser promises.
    EXPECT_FALSE(vm.wait_for_port && vm.wait_for_key);
    EXPECT_NE(vm.wait_for_port.value_or(1), 0);
    EXPECT_TRUE(vm.replay != replay_mode::host || vm.use_synjitsu);
    EXPECT_TRUE(vm.ports.empty() || vm.replay == replay_mode::host);
    EXPECT_LE(vm.ports.size(), catalog_limits::max_ports);
    for (std::size_t i = 0; i < vm.ports.size(); ++i) {
        EXPECT_NE(vm.ports[i], 0);
        EXPECT_EQ(std::count(vm.ports.begin(), vm.ports.end(), vm.ports[i]), 1);
    }
    if (!vm.initrd.empty() || vm.domain_type) {
        EXPECT_FALSE(vm.kernel.empty());
    }
}

std::string mutate(std::string s, std::mt19937& rng) {
    std::uniform_int_distribution<int> op(0, 4);
    const int steps = std::uniform_int_distribution<int>(1, 6)(rng);
    for (int i = 0; i < steps; ++i) {
        const std::size_t at =
            s.empty() ? 0 : std::uniform_int_distribution<std::size_t>(0, s.size() - 1)(rng);
        const char c =
            alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
        switch (op(rng)) {
            case 0:
                if (!s.empty()) s[at] = c;
                break;
            case 1:
                s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
                break;
            case 2:
                if (!s.empty()) s.erase(at, std::uniform_int_distribution<std::size_t>(1, 8)(rng));
                break;
            case 3: {  // duplicate a slice (repeated keys, long values)
                const std::size_t len = std::uniform_int_distribution<std::size_t>(1, 40)(rng);
                s.insert(at, s.substr(at, len));
                break;
            }
            default:
                s.insert(at,
                         std::string(std::uniform_int_distribution<std::size_t>(1, 3000)(rng), c));
                break;
        }
    }
    return s;
}

TEST(jitsu_dns_random_spec, mutated_specs_parse_or_fail_cleanly) {
    std::mt19937 rng(20240601);
    int accepted = 0, rejected = 0;
    for (int i = 0; i < 6000; ++i) {
        const std::string spec = mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng);
        try {
            check_invariants(parse_vm_spec(spec, catalog_defaults{}));
            ++accepted;
        } catch (const spec_error& e) {
            const std::string what = e.what();
            ASSERT_EQ(what.find('\n'), std::string::npos) << what;
            ASSERT_EQ(what.rfind("VMSPEC \"", 0), 0U) << what;
            ASSERT_LT(what.size(), 1024U) << what;
            ++rejected;
        }
        if (HasFatalFailure()) return;
    }
    // Both outcomes must occur, or the mutations test nothing.
    EXPECT_GT(accepted, 100);
    EXPECT_GT(rejected, 1000);
    RecordProperty("accepted", accepted);
    RecordProperty("rejected", rejected);
}

TEST(jitsu_dns_random_spec, random_bytes_fail_cleanly) {
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
        std::string s(std::uniform_int_distribution<std::size_t>(0, 300)(rng), '\0');
        for (auto& c : s)
            c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
        try {
            check_invariants(parse_vm_spec(s, catalog_defaults{}));
        } catch (const spec_error& e) {
            ASSERT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        }
    }
}

}  // namespace
}  // namespace jitsu::dns
