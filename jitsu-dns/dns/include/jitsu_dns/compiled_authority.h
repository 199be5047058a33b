#pragma once
// The authority compiled for answering: every owned name (zone apexes, VM names, in-zone
// name servers, and the empty non-terminals between them) in one open-addressing hash
// table keyed by the lowercase wire name, plus the zones' SOA/NS data in wire-ready form.
// Built once (may allocate, throws on a bad config); lookups and answers never allocate.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "jitsu_dns/authority.h"
#include "jitsu_dns/query.h"

namespace jitsu::dns {

// Our EDNS payload size by default (the DNS flag day 2020 value): avoids fragmentation.
inline constexpr std::uint16_t default_max_udp = 1232;

// What the authority says about a parsed query, before any answer is written.
struct answer_plan {
    enum class kind : std::uint8_t {
        outside,   // in none of our zones: forward or REFUSED
        nxdomain,  // inside a zone, no such name
        found,     // an existing name (it may have no data of the asked type: NODATA)
    };
    kind what = kind::outside;
    std::uint16_t zone = 0;
    std::uint32_t node = 0;
    // A, AAAA or ANY for a VM's name: the server asks the vm_gate before answering.
    bool vm_query = false;
    std::size_t vm = 0;
};

// Text name → lowercase wire form. Accepts an optional final dot; "" and "." are the
// root. Returns the length, or 0 if a label is empty or > 63 octets, or the name > 255.
std::size_t name_to_wire(std::string_view text, std::array<std::uint8_t, max_name_length>& out);

class compiled_authority {
  public:
    // Throws std::invalid_argument (one line naming the entry) for a name outside every
    // zone, an invalid name, a duplicate VM name, or a VM name equal to a name server
    // name that has addresses.
    explicit compiled_authority(const authority_config& config,
                                std::uint16_t max_udp = default_max_udp);

    answer_plan plan(const query& q) const noexcept;

    // Writes the authoritative answer for `q` (parse_query returned ok, plan is not
    // outside) into `out`, at most `limit` octets; an answer that does not fit becomes
    // TC=1 with the question only. Returns the size (0 only if `out` cannot hold even
    // that). `rcode_out` receives the rcode written.
    std::size_t write_answer(const query& q, const answer_plan& plan, std::span<std::uint8_t> out,
                             std::size_t limit, std::uint8_t* rcode_out = nullptr) const noexcept;

    std::uint16_t max_udp() const { return max_udp_; }
    std::size_t node_count() const { return nodes_.size(); }

  private:
    // A name written in RDATA: its labels before the zone apex (then a pointer to the
    // apex in the question) or, if it is not under the apex, the whole wire name.
    struct rdata_name {
        std::vector<std::uint8_t> wire;
        bool under_apex = false;
    };
    struct zone {
        std::uint32_t apex = 0;  // node index
        std::uint8_t apex_length = 0;
        std::uint32_t ttl = 0, negative_ttl = 0;
        rdata_name mname, rname;
        std::array<std::uint8_t, 20> soa_numbers{};  // serial refresh retry expire minimum
        std::int64_t ns_node = -1;  // node of primary_ns when it is inside the zone
    };
    struct node {
        std::uint32_t name_at = 0;  // into names_
        std::uint32_t hash = 0;
        std::uint8_t name_length = 0;
        std::uint16_t zone = 0;
        bool apex = false;
        bool vm = false;
        std::size_t vm_index = 0;
        std::uint32_t ttl = 0;
        std::uint16_t v4_begin = 0, v4_count = 0, v6_begin = 0, v6_count = 0;
    };

    std::int64_t find(const std::uint8_t* wire, std::size_t length) const noexcept;
    void build_index();
    struct impl;  // the answer writer's helpers (compiled_authority.cpp)
    friend struct impl;

    std::vector<zone> zones_;
    std::vector<node> nodes_;
    std::vector<std::uint8_t> names_;  // every node's lowercase wire name, back to back
    std::vector<std::array<std::uint8_t, 4>> v4_;
    std::vector<std::array<std::uint8_t, 16>> v6_;
    std::vector<std::uint32_t> slots_;  // hash table: node index + 1, 0 = empty
    std::size_t mask_ = 0;
    std::uint16_t max_udp_;
};

}  // namespace jitsu::dns
