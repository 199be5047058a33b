#pragma once
// The small fixed authority the fuzzer and the codec unit tests answer from:
//   zone example.org  (ns.example.org in zone, A + AAAA glue)
//     www.example.org       VM 0, A 10.0.0.10 + AAAA fd00::10, TTL 30
//     v4.deep.example.org   VM 1, A only (deep.example.org is an empty non-terminal)
//     v6.example.org        VM 2, AAAA only
//     example.org           also VM 3's name (A 10.0.0.3): apex with data
//   zone sub.example.org  (nested; its name server lies outside it: no glue)
//     vm.sub.example.org    VM 4, A 10.0.0.40
//   zone test              (primary_ns = the apex itself)
#include "common/ipv4_address.h"
#include "common/ipv6_address.h"
#include "jitsu_dns/authority.h"

namespace jitsu::dns::sample {

inline authority_config authority() {
    authority_config c;
    zone_config ex;
    ex.origin = "example.org";
    ex.primary_ns = "ns.example.org";
    ex.mailbox = "hostmaster.example.org";
    ex.serial = 2024010101;
    ex.ttl = 3600;
    ex.minimum = 60;
    ex.ns_ipv4 = {ipv4_address(10, 0, 0, 1)};
    ex.ns_ipv6 = {*ipv6_address::parse("fd00::1")};
    c.zones.push_back(ex);
    zone_config sub;
    sub.origin = "sub.example.org";
    sub.primary_ns = "ns.example.org";
    sub.mailbox = "hostmaster.example.org";
    sub.ttl = 120;
    sub.minimum = 300;  // > ttl: negative TTL is min(ttl, minimum) = 120
    c.zones.push_back(sub);
    zone_config t;
    t.origin = "test";
    t.primary_ns = "test";
    t.mailbox = "root.test";
    t.ns_ipv4 = {ipv4_address(10, 0, 0, 2)};
    c.zones.push_back(t);
    c.names.push_back(
        {"www.example.org", 0, 30, ipv4_address(10, 0, 0, 10), *ipv6_address::parse("fd00::10")});
    c.names.push_back({"v4.deep.example.org", 1, 5, ipv4_address(10, 0, 0, 11), std::nullopt});
    c.names.push_back({"v6.example.org", 2, 7, std::nullopt, *ipv6_address::parse("fd00::12")});
    c.names.push_back({"example.org", 3, 9, ipv4_address(10, 0, 0, 3), std::nullopt});
    c.names.push_back({"vm.sub.example.org", 4, 11, ipv4_address(10, 0, 0, 40), std::nullopt});
    return c;
}

}  // namespace jitsu::dns::sample
