#include "jitsu_dns/responder.h"

#include "message_writer.h"

namespace jitsu::dns {
namespace {

std::size_t write_bare(const query& q, std::uint16_t flags, std::uint16_t rcode,
                       std::uint16_t edns_payload, std::span<std::uint8_t> out) noexcept {
    detail::message_writer w(out, out.size());
    w.header(q.id, flags | (rcode & flag::rcode_mask));
    std::uint16_t ar = 0;
    if (q.has_question) w.question(q);
    if (q.has_opt) {
        w.opt(edns_payload, rcode, q.dnssec_ok);
        ar = 1;
    }
    if (!w.ok()) return 0;
    w.patch16(4, q.has_question ? 1 : 0);
    w.patch16(detail::arcount_at, ar);
    return w.size();
}

std::uint16_t status_rcode(parse_status s) {
    switch (s) {
        case parse_status::formerr:
            return rcode::formerr;
        case parse_status::notimp:
            return rcode::notimp;
        case parse_status::refused:
            return rcode::refused;
        case parse_status::badvers:
            return rcode::badvers;
        default:
            return rcode::servfail;
    }
}

}  // namespace

std::size_t write_error(const query& q, std::uint16_t rcode, std::uint16_t edns_payload,
                        std::span<std::uint8_t> out) noexcept {
    std::uint16_t flags = flag::qr | (q.flags & (flag::opcode_mask | flag::rd | flag::cd));
    return write_bare(q, flags, rcode, edns_payload, out);
}

std::size_t write_truncated(const query& q, std::uint16_t edns_payload,
                            std::span<std::uint8_t> out) noexcept {
    std::uint16_t flags = flag::qr | flag::tc | (q.flags & (flag::rd | flag::cd));
    return write_bare(q, flags, 0, edns_payload, out);
}

response respond(const compiled_authority& authority, std::span<const std::uint8_t> message,
                 transport t, query& q, std::span<std::uint8_t> out) noexcept {
    response r;
    r.status = parse_query(message, q);
    switch (r.status) {
        case parse_status::drop_short:
        case parse_status::drop_response:
            r.what = response::action::drop;
            return r;
        case parse_status::ok:
            break;
        default:
            r.rcode = status_rcode(r.status);
            r.size = write_error(q, r.rcode, authority.max_udp(), out);
            r.what = r.size == 0 ? response::action::drop : response::action::send;
            return r;
    }
    r.plan = authority.plan(q);
    if (r.plan.what == answer_plan::kind::outside) {
        r.what = response::action::forward;
        return r;
    }
    if (r.plan.vm_query) {
        r.what = response::action::gate;
        return r;
    }
    std::uint8_t rc = 0;
    r.size = authority.write_answer(q, r.plan, out, response_limit(authority, q, t), &rc);
    r.rcode = rc;
    r.truncated = r.size > 3 && (out[2] & (flag::tc >> 8)) != 0;
    r.what = r.size == 0 ? response::action::drop : response::action::send;
    return r;
}

}  // namespace jitsu::dns
