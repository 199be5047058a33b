#pragma once
// What jitsu-dns answers for, from the catalog: its zones (SOA, NS) and one name_record
// per dns= name.
//
// Zones are the --zone names, or by default each dns name's parent domain
// (www.example.org -> example.org), keeping only the zones some name needs: with
// www.example.org and example.org in the catalog the zone is example.org, not also org.
// Every zone gets SOA/NS with primary_ns `ns.<zone>`, whose A record is the --bind address
// when that is one specific IPv4 address.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsu_dns/authority.h"
#include "jitsu_dns/vm_spec.h"

namespace jitsu::dns {

struct zone_inputs {
    std::vector<std::string> zones;          // --zone (may be empty: derived)
    std::optional<ipv4_address> ns_address;  // --bind when a specific IPv4 address
    std::uint32_t ttl = 60;                  // SOA/NS TTL and negative-caching TTL (-t)
    std::uint32_t serial = 1;                // SOA serial (jitsu-dns uses its start time)
};

// Throws std::invalid_argument (one line) for a malformed --zone, a dns name outside every
// --zone, or a single-label name whose zone cannot be derived.
authority_config authority_from_catalog(const std::vector<vm_spec>& catalog,
                                        const zone_inputs& inputs);

// "Example.ORG." -> "example.org"; throws std::invalid_argument if it is not a domain name.
std::string normalize_zone(std::string_view text);

}  // namespace jitsu::dns
