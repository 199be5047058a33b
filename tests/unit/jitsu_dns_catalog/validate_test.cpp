// Catalog-wide uniqueness: two VMs never share a name, uuid, DNS name, address or MAC.
#include <gtest/gtest.h>

#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

std::vector<vm_spec> parse_all(const std::vector<std::string>& specs) {
    std::vector<vm_spec> out;
    for (const auto& s : specs) out.push_back(parse_vm_spec(s, catalog_defaults{}));
    return out;
}

std::string validate_error(const std::vector<std::string>& specs) {
    try {
        validate_catalog(parse_all(specs));
    } catch (const spec_error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        return e.what();
    }
    return "accepted";
}

TEST(jitsu_dns_validate, distinct_vms_pass) {
    EXPECT_EQ(
        validate_error({"name=a,dns=a.example,ip=10.0.0.1", "name=b,dns=b.example,ip=10.0.0.2",
                        "name=c,dns=c.example,ip6=fd00::3"}),
        "accepted");
    EXPECT_EQ(validate_error({}), "accepted");
}

TEST(jitsu_dns_validate, each_shared_property_names_both_specs) {
    const std::string a = "name=a,dns=a.example,ip=10.0.0.1";
    const auto q = [](const std::string& s) { return "VMSPEC \"" + s + "\""; };
    const std::vector<std::pair<std::string, std::string>> cases{
        {"name=a,dns=b.example,ip=10.0.0.2", ": name: a is also used by "},
        {"name=b,dns=b.example,ip=10.0.0.2,uuid=" + name_based_uuid("a"),
         ": uuid: " + name_based_uuid("a") + " is also used by "},
        {"name=b,dns=x.example,dns=A.Example.,ip=10.0.0.2", ": dns: a.example is also used by "},
        {"name=b,dns=b.example,ip=10.0.0.1,mac=02:00:00:00:00:01",
         ": ip: 10.0.0.1 is also used by "},
        // The derived MACs of 10.0.0.1 and 11.0.0.1 are both 00:16:3e:00:00:01.
        {"name=b,dns=b.example,ip=11.0.0.1", ": mac: 00:16:3e:00:00:01 is also used by "},
    };
    for (const auto& [b, middle] : cases) {
        EXPECT_EQ(validate_error({a, b}), q(b) + middle + q(a)) << b;
    }
    EXPECT_EQ(validate_error({"name=a,dns=a.example,ip6=fd00::1",
                              "name=b,dns=b.example,ip6=fd00::1,mac=02:00:00:00:00:09"}),
              q("name=b,dns=b.example,ip6=fd00::1,mac=02:00:00:00:00:09") +
                  ": ip6: fd00::1 is also used by " + q("name=a,dns=a.example,ip6=fd00::1"));
}

TEST(jitsu_dns_validate, config_file_origins_are_named) {
    auto vms = parse_all({"name=a,dns=a.example,ip=10.0.0.1", "name=a,dns=b.example,ip=10.0.0.2"});
    vms[0].origin = "vms.conf:3";
    vms[1].origin = "vms.conf:9";
    try {
        validate_catalog(vms);
        FAIL() << "accepted";
    } catch (const spec_error& e) {
        EXPECT_STREQ(e.what(), "vms.conf:9: name: a is also used by vms.conf:3");
    }
    // Without an origin (built in code) the VM's name stands in.
    vms[0].origin.clear();
    vms[1].origin.clear();
    EXPECT_THROW(validate_catalog(vms), spec_error);
    try {
        validate_catalog(vms);
    } catch (const spec_error& e) {
        EXPECT_STREQ(e.what(), "VM \"a\": name: a is also used by VM \"a\"");
    }
}

}  // namespace
}  // namespace jitsu::dns
