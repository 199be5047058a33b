// libFuzzer target: arbitrary bytes as a query, through everything the server does with
// it before a socket is involved — parse, plan, answer (UDP and TCP limits), the gate's
// deferred answer, the error and truncated writers — and every answer must parse back as
// a well-formed message with the query's id.
// Build: cmake -DJITSU_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
// Run:   build-fuzz/bin/fuzz_dns_codec -max_total_time=60 jitsu-dns/dns/fuzz/corpus
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "jitsu_dns/message_check.h"
#include "jitsu_dns/responder.h"
#include "sample_authority.h"

namespace {

using namespace jitsu::dns;

const compiled_authority& table() {
    static const compiled_authority a(sample::authority());
    return a;
}

// A broken invariant is a crash, so libFuzzer reports it with the input.
void check(bool ok) {
    if (!ok) std::abort();
}

void check_answer(std::span<const std::uint8_t> out, std::size_t size, std::size_t limit,
                  const query& q) {
    check(size <= limit);
    message_summary s;
    check(check_message(out.first(size), s));
    check(s.id == q.id && (s.flags & flag::qr) != 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static std::array<std::uint8_t, max_message_size> out;
    std::span<const std::uint8_t> in(data, size);
    query q;
    for (transport t : {transport::udp, transport::tcp}) {
        response r = respond(table(), in, t, q, out);
        if (r.what == response::action::drop) {
            check(r.status == parse_status::drop_short || r.status == parse_status::drop_response);
            continue;
        }
        if (r.what == response::action::send) {
            std::size_t limit = r.status == parse_status::ok ? response_limit(table(), q, t) : 512;
            check_answer(out, r.size, limit, q);
            continue;
        }
        check(r.status == parse_status::ok);
        if (r.what == response::action::gate) {
            std::size_t limit = response_limit(table(), q, t);
            std::size_t n = table().write_answer(q, r.plan, out, limit);
            check_answer(out, n, limit, q);
        }
        std::size_t n = write_error(q, rcode::servfail, table().max_udp(), out);
        check_answer(out, n, 512, q);
        n = write_truncated(q, table().max_udp(), out);
        check_answer(out, n, 512, q);
    }
    return 0;
}
