#pragma once
// What jitsu-dns is authoritative for: its zones (SOA, NS) and the names of its VMs.
// Built once at start from the catalog (booter/authority_from_catalog) and handed to the
// server, which compiles it into its lookup tables. Plain data: no Asio, no Xenstore, so
// the codec, its fuzzer and its unit tests link without either.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ipv4_address.h"
#include "common/ipv6_address.h"

namespace jitsu::dns {

struct zone_config {
    std::string origin;      // "example.org" (lowercase, no final dot)
    std::string primary_ns;  // SOA MNAME and the zone's NS target, e.g. "ns.example.org"
    std::string mailbox;     // SOA RNAME, e.g. "hostmaster.example.org"
    std::uint32_t serial = 1;
    std::uint32_t refresh = 3600, retry = 600, expire = 86400;
    std::uint32_t minimum = 60;  // negative-caching TTL (NXDOMAIN/NODATA, RFC 2308)
    std::uint32_t ttl = 60;      // TTL of the SOA and NS records
    // Addresses of primary_ns when it lies inside the zone (glue / its own A, AAAA).
    std::vector<ipv4_address> ns_ipv4;
    std::vector<ipv6_address> ns_ipv6;
};

struct name_record {
    std::string name;  // lowercase, no final dot; must lie inside one of the zones
    std::size_t vm;    // index into the catalog: passed to vm_gate::on_query
    std::uint32_t ttl;
    std::optional<ipv4_address> ipv4;  // A
    std::optional<ipv6_address> ipv6;  // AAAA
};

struct authority_config {
    std::vector<zone_config> zones;
    std::vector<name_record> names;
};

}  // namespace jitsu::dns
