#pragma once
// Test helpers: build queries byte by byte, and decode answers into plain values.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jitsu_dns/wire.h"

namespace jitsu::dns::test {

using bytes = std::vector<std::uint8_t>;

struct query_options {
    std::uint16_t id = 0x1234;
    std::uint16_t flags = flag::rd;
    bool edns = false;
    std::uint16_t payload = 4096;
    std::uint8_t version = 0;
    bool dnssec_ok = false;
    int opt_count = 1;
};

// Text name ("www.example.org") → wire labels, case kept. Does not validate: tests
// build bad names on purpose through raw bytes instead.
bytes wire(const std::string& name);
bytes make_query(const std::string& name, std::uint16_t qtype, std::uint16_t qclass = qclass::in,
                 const query_options& o = {});
// Header only, with the given counts; the caller appends what it wants.
bytes header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an = 0,
             std::uint16_t ns = 0, std::uint16_t ar = 0);
void append(bytes& b, std::initializer_list<std::uint8_t> more);
void append16(bytes& b, std::uint16_t v);
// OPT record (root owner, no options unless given).
void append_opt(bytes& b, std::uint16_t payload, std::uint8_t version, bool do_bit,
                const bytes& rdata = {});

struct record {
    std::string name;  // decoded text, case kept, no final dot ("" = root)
    std::uint16_t type = 0, klass = 0;
    std::uint32_t ttl = 0;
    bytes rdata;             // raw
    std::string rdata_text;  // A/AAAA address, NS target, or SOA "mname rname serial ..."
};

struct decoded {
    std::uint16_t id = 0, flags = 0;
    std::uint8_t rcode = 0;
    std::string qname;
    std::uint16_t qtype = 0, qclass = 0, qdcount = 0;
    std::vector<record> answer, authority, additional;
    bool aa() const { return flags & flag::aa; }
    bool tc() const { return flags & flag::tc; }
    bool rd() const { return flags & flag::rd; }
    bool ra() const { return flags & flag::ra; }
};

// Decodes a whole message (names decompressed); nullopt if it is not well formed.
std::optional<decoded> decode(std::span<const std::uint8_t> message);

}  // namespace jitsu::dns::test
