// The daemon's configuration: zones and SOA/NS from the catalog, the command line, and the
// catalog checks that need the options (use_synjitsu without --synjitsu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "jitsu_dns/authority_from_catalog.h"
#include "jitsu_dns/catalog.h"
#include "jitsu_dns/options.h"

namespace jitsu::dns::test {
namespace {

std::vector<vm_spec> parse_all(std::initializer_list<const char*> specs) {
    std::vector<vm_spec> out;
    for (const char* s : specs) out.push_back(parse_vm_spec(s, catalog_defaults{}));
    return out;
}

std::vector<std::string> origins(const authority_config& a) {
    std::vector<std::string> z;
    for (const auto& zc : a.zones) z.push_back(zc.origin);
    std::sort(z.begin(), z.end());
    return z;
}

TEST(jitsu_dns_booter_config, zones_default_to_parent_domains_that_names_need) {
    auto catalog = parse_all({"name=a,dns=www.example.org,dns=example.org,ip=10.0.0.10",
                              "name=b,dns=db.internal.test,ip=10.0.0.11,ttl=5"});
    zone_inputs in;
    in.ns_address = ipv4_address(10, 0, 0, 1);
    in.serial = 1234;
    in.ttl = 30;
    const auto a = authority_from_catalog(catalog, in);
    // example.org (not org: example.org itself lies in example.org), internal.test.
    EXPECT_EQ(origins(a), (std::vector<std::string>{"example.org", "internal.test"}));
    for (const auto& z : a.zones) {
        EXPECT_EQ(z.primary_ns, "ns." + z.origin);
        EXPECT_EQ(z.mailbox, "hostmaster." + z.origin);
        EXPECT_EQ(z.serial, 1234U);
        EXPECT_EQ(z.ttl, 30U);
        EXPECT_EQ(z.minimum, 30U);
        ASSERT_EQ(z.ns_ipv4.size(), 1U);
        EXPECT_EQ(z.ns_ipv4[0], ipv4_address(10, 0, 0, 1));
    }
    ASSERT_EQ(a.names.size(), 3U);
    EXPECT_EQ(a.names[0].name, "www.example.org");
    EXPECT_EQ(a.names[0].vm, 0U);
    EXPECT_EQ(a.names[1].name, "example.org");
    EXPECT_EQ(a.names[2].name, "db.internal.test");
    EXPECT_EQ(a.names[2].vm, 1U);
    EXPECT_EQ(a.names[2].ttl, 5U);
    EXPECT_EQ(a.names[2].ipv4, ipv4_address(10, 0, 0, 11));
}

TEST(jitsu_dns_booter_config, explicit_zones_must_hold_every_name) {
    auto catalog = parse_all({"name=a,dns=www.example.org,ip=10.0.0.10"});
    zone_inputs in;
    in.zones = {"Example.ORG."};
    const auto a = authority_from_catalog(catalog, in);
    EXPECT_EQ(origins(a), (std::vector<std::string>{"example.org"}));
    EXPECT_TRUE(a.zones[0].ns_ipv4.empty()) << "no glue without a specific --bind";
    in.zones = {"other.org"};
    try {
        (void)authority_from_catalog(catalog, in);
        FAIL() << "a name outside every --zone was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "a: dns name 'www.example.org' is not inside any --zone");
    }
    in.zones = {"bad zone"};
    EXPECT_THROW((void)authority_from_catalog(catalog, in), std::invalid_argument);
    in.zones = {"."};
    EXPECT_THROW((void)authority_from_catalog(catalog, in), std::invalid_argument);
}

TEST(jitsu_dns_booter_config, single_label_name_needs_a_zone) {
    auto catalog = parse_all({"name=a,dns=localhost,ip=10.0.0.10"});
    EXPECT_THROW((void)authority_from_catalog(catalog, zone_inputs{}), std::invalid_argument);
}

parse_outcome parse(std::vector<const char*> args) {
    args.insert(args.begin(), "jitsu-dns");
    return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(jitsu_dns_booter_config, command_line_as_the_original_jitsu) {
    auto p = parse({"-b",          "10.0.0.1",
                    "-l",          "5353",
                    "-f",          "10.9.0.1",
                    "-p",          "5300",
                    "-t",          "2",
                    "-d",          "0.25",
                    "-m",          "suspend",
                    "-x",          "libvirt",
                    "-c",          "test:///default",
                    "--synjitsu",  "--zone",
                    "example.org", "--wait-timeout",
                    "1.5",         "--stop-on-exit",
                    "--xenstore",  "/tmp/xs.sock",
                    "-v",          "name=www,dns=www.example.org,ip=10.0.0.10"});
    ASSERT_TRUE(p.options) << p.message;
    const auto& o = *p.options;
    EXPECT_EQ(o.bind, std::vector<std::string>{"10.0.0.1"});
    EXPECT_EQ(o.listen, 5353);
    EXPECT_EQ(o.forwarder, "10.9.0.1");
    EXPECT_EQ(o.forwarder_port, 5300);
    EXPECT_EQ(o.ttl, 2U);
    EXPECT_DOUBLE_EQ(o.delay_s, 0.25);
    EXPECT_EQ(o.mode, stop_mode::suspend);
    EXPECT_EQ(o.backend, "libvirt");
    EXPECT_EQ(o.connect, "test:///default");
    EXPECT_TRUE(o.synjitsu);
    EXPECT_TRUE(o.stop_on_exit);
    EXPECT_EQ(o.zones, std::vector<std::string>{"example.org"});
    EXPECT_EQ(o.xenstore_path, "/tmp/xs.sock");
    EXPECT_EQ(o.verbosity, 1);
    ASSERT_EQ(o.specs.size(), 1U);
    // The catalog takes the command line's defaults.
    const auto catalog = build_catalog(o);
    EXPECT_EQ(catalog[0].ttl, 2U);
    EXPECT_EQ(catalog[0].response_delay, std::chrono::milliseconds(250));
    EXPECT_EQ(catalog[0].wait_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(catalog[0].stop, stop_mode::suspend);
}

// Issue 11 item 13: a repeatable option followed by VMSPECs takes one value; the VMSPECs
// stay VMSPECs, in every documented form.
TEST(jitsu_dns_booter_config, repeatable_options_leave_the_vmspecs_alone) {
    const char* spec1 = "name=www,dns=www.example.org,ip=10.0.0.10";
    const char* spec2 = "name=api,dns=api.example.org,ip=10.0.0.11";
    const std::string config = ::testing::TempDir() + "/jitsu-dns-config-test.conf";
    { std::ofstream(config) << "name=db,dns=db.example.org,ip=10.0.0.12\n"; }
    for (const auto& argv : std::vector<std::vector<const char*>>{
             {"--zone", "example.org", spec1, spec2},
             {"--zone=example.org", spec1, spec2},
             {spec1, "--zone", "example.org", spec2},
             {"--config", config.c_str(), spec1, spec2},
             {"--config=" /* joined below */, spec1, spec2},
             {"--zone", "example.org", "--zone", "example.com", spec1, spec2},
         }) {
        std::vector<std::string> args(argv.begin(), argv.end());
        if (args[0] == "--config=") args[0] += config;
        std::vector<const char*> raw;
        for (const auto& a : args) raw.push_back(a.c_str());
        auto p = parse(raw);
        ASSERT_TRUE(p.options) << args[0] << ": " << p.message;
        EXPECT_EQ(p.options->specs, (std::vector<std::string>{spec1, spec2})) << args[0];
        EXPECT_LE(p.options->zones.size(), 2U) << args[0];
        EXPECT_LE(p.options->config_files.size(), 1U) << args[0];
    }
    std::remove(config.c_str());
}

// Issue 11 items 10 and 12: -b repeats (each takes one value: the VMSPEC after it stays a
// VMSPEC) and the TCP limits are set from the command line.
TEST(jitsu_dns_booter_config, bind_repeats_and_tcp_limits) {
    const char* spec = "name=www,dns=www.example.org,ip=10.0.0.10";
    auto p = parse({"-b", "10.0.0.1", "--bind", "fd00::1", "--max-tcp", "100",
                    "--max-tcp-per-client", "4", "--tcp-idle-timeout", "2.5", "-b", "::", spec});
    ASSERT_TRUE(p.options) << p.message;
    EXPECT_EQ(p.options->bind, (std::vector<std::string>{"10.0.0.1", "fd00::1", "::"}));
    EXPECT_EQ(p.options->specs, std::vector<std::string>{spec});
    EXPECT_EQ(p.options->max_tcp, 100U);
    EXPECT_EQ(p.options->max_tcp_per_client, 4U);
    EXPECT_DOUBLE_EQ(p.options->tcp_idle_timeout_s, 2.5);
    for (const char* bad : {"--max-tcp=0", "--max-tcp-per-client=0", "--tcp-idle-timeout=0"}) {
        auto r = parse({bad, spec});
        EXPECT_FALSE(r.options) << bad;
        EXPECT_EQ(r.exit_code, exit_usage) << bad;
    }
}

TEST(jitsu_dns_booter_config, defaults_and_errors) {
    auto p = parse({"name=www,dns=www.example.org,ip=10.0.0.10"});
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->bind, std::vector<std::string>{"0.0.0.0"});
    EXPECT_EQ(p.options->listen, 53);
    EXPECT_EQ(p.options->max_tcp, 256U);
    EXPECT_EQ(p.options->max_tcp_per_client, 16U);
    EXPECT_DOUBLE_EQ(p.options->tcp_idle_timeout_s, 10.0);
    EXPECT_DOUBLE_EQ(p.options->delay_s, 0.1);
    EXPECT_EQ(p.options->backend, "netns");
    EXPECT_EQ(p.options->mode, stop_mode::destroy);

    for (std::vector<const char*> bad : {std::vector<const char*>{},
                                         {"-m", "pause", "name=a,dns=a.b,ip=10.0.0.1"},
                                         {"-x", "qemu", "name=a,dns=a.b,ip=10.0.0.1"},
                                         {"-t", "-1", "name=a,dns=a.b,ip=10.0.0.1"},
                                         {"--nope", "name=a,dns=a.b,ip=10.0.0.1"}}) {
        auto r = parse(bad);
        EXPECT_FALSE(r.options);
        EXPECT_EQ(r.exit_code, exit_usage);
        EXPECT_EQ(std::count(r.message.begin(), r.message.end(), '\n'), 1) << r.message;
    }
    auto help = parse({"--help"});
    EXPECT_EQ(help.exit_code, exit_ok);
    EXPECT_NE(help.message.find("Exit codes"), std::string::npos);
}

TEST(jitsu_dns_booter_config, libvirt_console_dir_and_stop_grace) {
    const char* spec = "name=a,dns=a.b,ip=10.0.0.1";
    auto p = parse({spec});
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->libvirt_console_dir, "");
    EXPECT_DOUBLE_EQ(p.options->stop_grace_s, 10.0);
    p = parse({"--libvirt-console-dir", "/var/log/jitsu", "--stop-grace", "1.5", spec});
    ASSERT_TRUE(p.options) << p.message;
    EXPECT_EQ(p.options->libvirt_console_dir, "/var/log/jitsu");
    EXPECT_DOUBLE_EQ(p.options->stop_grace_s, 1.5);
    for (std::vector<const char*> bad :
         {std::vector<const char*>{"--libvirt-console-dir", "logs", spec},
          {"--stop-grace", "0", spec},
          {"--stop-grace", "x", spec}}) {
        auto r = parse(bad);
        EXPECT_FALSE(r.options) << bad[1];
        EXPECT_EQ(r.exit_code, exit_usage);
        EXPECT_EQ(std::count(r.message.begin(), r.message.end(), '\n'), 1) << r.message;
    }
}

TEST(jitsu_dns_booter_config, use_synjitsu_needs_the_flag) {
    auto p = parse({"name=www,dns=www.example.org,ip=10.0.0.10,use_synjitsu=1"});
    ASSERT_TRUE(p.options);
    try {
        (void)build_catalog(*p.options);
        FAIL() << "accepted";
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("use_synjitsu=1 needs --synjitsu"), std::string::npos) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos);
    }
    p.options->synjitsu = true;
    EXPECT_EQ(build_catalog(*p.options).size(), 1U);
}

}  // namespace
}  // namespace jitsu::dns::test
