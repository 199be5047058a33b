#pragma once
// Parsing an incoming query into a fixed-size value: no allocation, every read bounds-
// checked, compression pointers in the question bounded (strictly backwards, at most
// max_labels jumps). The name is kept twice: as the client sent it (echoed in the
// question) and lowercased (the lookup key).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "jitsu_dns/wire.h"

namespace jitsu::dns {

// What to do with a message. Everything but drop_* gets an answer with this rcode (or,
// for ok, whatever the lookup gives).
enum class parse_status : std::uint8_t {
    ok,
    drop_short,     // shorter than a header: nobody to answer
    drop_response,  // QR=1: a response is never answered (loops, reflection)
    formerr,        // malformed question or additional section, QDCOUNT != 1, 2+ OPT
    notimp,         // opcode other than QUERY, or AXFR/IXFR
    refused,        // class other than IN and ANY: we serve nothing in other classes
    badvers,        // EDNS version > 0
};

struct query {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;  // the client's header flag word
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
    // Whether name/qtype/qclass are valid (a question was parsed): error answers echo it.
    bool has_question = false;
    // EDNS: has_opt when exactly one well-formed OPT was present.
    bool has_opt = false;
    bool dnssec_ok = false;
    std::uint8_t edns_version = 0;
    std::uint16_t udp_payload = 0;  // the client's advertised size (raw)
    std::uint8_t name_length = 0;   // wire octets incl. the root label (1..255)
    std::uint8_t label_count = 0;   // non-root labels
    // Flat wire name (no compression), as sent and lowercased. Only the first
    // name_length octets are meaningful.
    std::array<std::uint8_t, max_name_length> name{};
    std::array<std::uint8_t, max_name_length> lower{};
    // Offset of each label inside `lower` (for walking suffixes: zone search).
    std::array<std::uint8_t, max_labels> label_offsets{};
    // Bytes of the original message up to the end of the question (header + question),
    // as the client sent them; used to match a forwarded reply's question.
    std::uint16_t question_end = 0;
};

// Parses `message` into `q`. Never reads outside `message`.
parse_status parse_query(std::span<const std::uint8_t> message, query& q) noexcept;

// Parses only the header and question of a RESPONSE (QR=1 accepted), for matching a
// forwarder's reply to the query it answers. Returns false if the header or question is
// malformed or QDCOUNT != 1.
bool parse_response_question(std::span<const std::uint8_t> message, query& q) noexcept;

// Reads a (possibly compressed) name starting at `offset` into a flat wire buffer.
// Pointers must point strictly before the label sequence that contains them (so decoding
// always terminates); names over 255 octets, labels over 63 and the reserved label types
// 0x40/0x80 are rejected. On success returns true and sets `end` to the offset just past
// the name in the message, `length`/`labels` to the flat name's size.
bool read_name(std::span<const std::uint8_t> message, std::size_t offset,
               std::array<std::uint8_t, max_name_length>& out, std::uint8_t& length,
               std::uint8_t& labels, std::array<std::uint8_t, max_labels>& label_offsets,
               std::size_t& end) noexcept;

// Skips a name in a resource record (no decoding): validates label lengths and stops at
// the root label or the first pointer. Returns the offset past the name, or 0 on error.
std::size_t skip_name(std::span<const std::uint8_t> message, std::size_t offset) noexcept;

// The largest response for `q` over UDP: 512 without EDNS, else the client's size
// clamped to [512, max_udp].
inline std::size_t udp_response_limit(const query& q, std::size_t max_udp) noexcept {
    if (!q.has_opt) return classic_udp_limit;
    std::size_t size = q.udp_payload < classic_udp_limit ? classic_udp_limit : q.udp_payload;
    if (max_udp < classic_udp_limit) max_udp = classic_udp_limit;
    return size < max_udp ? size : max_udp;
}

}  // namespace jitsu::dns
