#pragma once
// One query in, one decision out: parse, look up, and write the answer when it can be
// written at once. The server and the fuzzer share this; a query that needs the vm_gate
// or the forwarder comes back as such, with the parsed query kept in the caller's `query`.

#include <cstddef>
#include <cstdint>
#include <span>

#include "jitsu_dns/compiled_authority.h"
#include "jitsu_dns/query.h"

namespace jitsu::dns {

enum class transport : std::uint8_t { udp, tcp };

struct response {
    enum class action : std::uint8_t {
        send,     // `size` octets in the output buffer are the answer
        drop,     // nothing to send (see parse status: too short, or a response)
        gate,     // a VM name: ask the vm_gate, then write_answer(plan)
        forward,  // outside our zones: forward (or REFUSED without a forwarder)
    };
    action what = action::drop;
    parse_status status = parse_status::ok;
    std::uint16_t rcode = 0;  // of the answer sent (extended rcode for BADVERS)
    bool truncated = false;
    std::size_t size = 0;
    answer_plan plan;
};

// `out` must hold at least max_response_size(t, authority) octets.
response respond(const compiled_authority& authority, std::span<const std::uint8_t> message,
                 transport t, query& q, std::span<std::uint8_t> out) noexcept;

// The response size limit for `q` on transport `t`.
inline std::size_t response_limit(const compiled_authority& a, const query& q, transport t) {
    return t == transport::udp ? udp_response_limit(q, a.max_udp()) : max_message_size;
}

// An answer without data: header (QR, opcode, RD, CD copied; AA clear), the question when
// one was parsed, OPT when the query had one. `rcode` may be extended (BADVERS). Needs at
// most 12 + 255 + 4 + 11 octets. Returns the size, 0 if `out` is too small.
std::size_t write_error(const query& q, std::uint16_t rcode, std::uint16_t edns_payload,
                        std::span<std::uint8_t> out) noexcept;

// TC=1 with the question only (and OPT): an answer that did not fit the client's limit.
std::size_t write_truncated(const query& q, std::uint16_t edns_payload,
                            std::span<std::uint8_t> out) noexcept;

}  // namespace jitsu::dns
