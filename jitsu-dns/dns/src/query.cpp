// Query parsing: every offset is compared against the message size before it is read.
#include "jitsu_dns/query.h"

#include <cstring>

namespace jitsu::dns {
namespace {

constexpr std::uint8_t pointer_bits = 0xc0;

void lowercase(query& q) noexcept {
    for (std::size_t i = 0; i < q.name_length; ++i) q.lower[i] = lower_octet(q.name[i]);
}

// Header + question, shared by queries and responses. Returns false on a malformed
// question (the caller decides the rcode).
bool read_question(std::span<const std::uint8_t> m, query& q) noexcept {
    std::size_t end = 0;
    if (!read_name(m, header_size, q.name, q.name_length, q.label_count, q.label_offsets, end))
        return false;
    if (m.size() - end < 4) return false;
    q.qtype = load_be16(m.data() + end);
    q.qclass = load_be16(m.data() + end + 2);
    q.question_end = static_cast<std::uint16_t>(end + 4);
    q.has_question = true;
    lowercase(q);
    return true;
}

// Skips one resource record at `pos`: returns the offset past it, or 0 if malformed.
// Optionally reports where its fixed fields (type...) start.
std::size_t skip_rr(std::span<const std::uint8_t> m, std::size_t pos,
                    std::size_t* fixed = nullptr) noexcept {
    std::size_t p = skip_name(m, pos);
    if (p == 0 || m.size() - p < 10) return 0;
    if (fixed != nullptr) *fixed = p;
    std::size_t rdlength = load_be16(m.data() + p + 8);
    p += 10;
    if (m.size() - p < rdlength) return 0;
    return p + rdlength;
}

// Checks an OPT record's RDATA: a sequence of {code, length, data} that fills it exactly.
bool valid_edns_options(const std::uint8_t* p, std::size_t n) noexcept {
    while (n > 0) {
        if (n < 4) return false;
        std::size_t len = load_be16(p + 2);
        if (n - 4 < len) return false;
        p += 4 + len;
        n -= 4 + len;
    }
    return true;
}

}  // namespace

bool read_name(std::span<const std::uint8_t> m, std::size_t offset,
               std::array<std::uint8_t, max_name_length>& out, std::uint8_t& length,
               std::uint8_t& labels, std::array<std::uint8_t, max_labels>& label_offsets,
               std::size_t& end) noexcept {
    std::size_t pos = offset;
    std::size_t segment_start = offset;  // pointers must target strictly before this
    std::size_t out_len = 0;
    std::size_t n_labels = 0;
    std::size_t jumps = 0;
    bool ended = false;  // `end` is fixed at the first pointer
    for (;;) {
        if (pos >= m.size()) return false;
        std::uint8_t len = m[pos];
        if ((len & pointer_bits) == pointer_bits) {
            if (m.size() - pos < 2) return false;
            std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | m[pos + 1];
            if (!ended) {
                end = pos + 2;
                ended = true;
            }
            // Strictly backwards keeps segment_start decreasing, so decoding ends; the
            // jump bound is a second, independent guard.
            if (target >= segment_start || ++jumps > max_labels) return false;
            segment_start = target;
            pos = target;
            continue;
        }
        if ((len & pointer_bits) != 0) return false;  // 0x40 / 0x80: reserved label types
        if (len == 0) {
            if (out_len + 1 > max_name_length) return false;
            out[out_len++] = 0;
            if (!ended) end = pos + 1;
            length = static_cast<std::uint8_t>(out_len);
            labels = static_cast<std::uint8_t>(n_labels);
            return true;
        }
        if (m.size() - pos - 1 < len) return false;
        // Room for this label and the root label after it.
        if (out_len + 1 + len + 1 > max_name_length) return false;
        label_offsets[n_labels++] = static_cast<std::uint8_t>(out_len);
        out[out_len] = len;
        std::memcpy(out.data() + out_len + 1, m.data() + pos + 1, len);
        out_len += 1 + len;
        pos += 1 + len;
    }
}

std::size_t skip_name(std::span<const std::uint8_t> m, std::size_t offset) noexcept {
    std::size_t pos = offset;
    std::size_t total = 0;
    for (;;) {
        if (pos >= m.size()) return 0;
        std::uint8_t len = m[pos];
        if ((len & pointer_bits) == pointer_bits) return m.size() - pos < 2 ? 0 : pos + 2;
        if ((len & pointer_bits) != 0) return 0;
        if (len == 0) return pos + 1;
        total += 1 + len;
        if (total + 1 > max_name_length || m.size() - pos - 1 < len) return 0;
        pos += 1 + len;
    }
}

parse_status parse_query(std::span<const std::uint8_t> m, query& q) noexcept {
    q.has_question = false;
    q.has_opt = false;
    q.dnssec_ok = false;
    q.edns_version = 0;
    q.udp_payload = 0;
    if (m.size() < header_size) return parse_status::drop_short;
    header_view h(m.data());
    q.id = h.id();
    q.flags = h.flags();
    if (h.qr()) return parse_status::drop_response;
    // Another opcode (NOTIFY, UPDATE, ...) is NOTIMP whatever follows; its question and OPT
    // are still read when they parse, so the answer echoes them (RFC 6891 §7: an EDNS
    // query gets an OPT in every answer, errors included).
    const bool other_opcode = h.opcode() != 0;
    const parse_status malformed = other_opcode ? parse_status::notimp : parse_status::formerr;
    if (h.qdcount() != 1) return malformed;
    if (!read_question(m, q)) return malformed;

    // Answer and authority sections are not expected in a query; skip them (bounded: each
    // record takes >= 11 octets) to reach the additional section and its OPT.
    std::size_t pos = q.question_end;
    std::size_t skip_count = std::size_t{h.ancount()} + h.nscount();
    for (std::size_t i = 0; i < skip_count; ++i) {
        pos = skip_rr(m, pos);
        if (pos == 0) return malformed;
    }
    for (std::size_t i = 0; i < h.arcount(); ++i) {
        std::size_t name_at = pos;
        std::size_t fixed = 0;
        pos = skip_rr(m, pos, &fixed);
        if (pos == 0) return malformed;
        if (load_be16(m.data() + fixed) != type::opt)
            continue;  // e.g. TSIG: not supported, ignored
        // RFC 6891 §6.1.1: one OPT at most, owned by the root name.
        if (q.has_opt || m[name_at] != 0) return malformed;
        std::size_t rdlength = load_be16(m.data() + fixed + 8);
        if (!valid_edns_options(m.data() + fixed + 10, rdlength)) return malformed;
        q.has_opt = true;
        q.udp_payload = load_be16(m.data() + fixed + 2);
        std::uint32_t ttl = (std::uint32_t{load_be16(m.data() + fixed + 4)} << 16) |
                            load_be16(m.data() + fixed + 6);
        q.edns_version = static_cast<std::uint8_t>(ttl >> 16);
        q.dnssec_ok = (ttl & edns_do_bit) != 0;
    }
    if (other_opcode) return parse_status::notimp;
    // OPT is a pseudo-type: it cannot be asked for (RFC 6891 §6.1.1).
    if (q.qtype == type::opt) return parse_status::formerr;
    if (q.has_opt && q.edns_version > 0) return parse_status::badvers;
    if (q.qclass != qclass::in && q.qclass != qclass::any) return parse_status::refused;
    if (q.qtype == type::axfr || q.qtype == type::ixfr) return parse_status::notimp;
    return parse_status::ok;
}

bool parse_response_question(std::span<const std::uint8_t> m, query& q) noexcept {
    q.has_question = false;
    if (m.size() < header_size) return false;
    header_view h(m.data());
    q.id = h.id();
    q.flags = h.flags();
    if (h.qdcount() != 1) return false;
    return read_question(m, q);
}

}  // namespace jitsu::dns
