// EDNS0 (RFC 6891) and truncation: OPT echoed with our size, BADVERS, DO copied, UDP
// limits, TC=1 with the question only when an answer does not fit.
#include <gtest/gtest.h>

#include <array>

#include "dns_test_util.h"
#include "jitsu_dns/responder.h"
#include "sample_authority.h"

namespace jitsu::dns {
namespace {

using test::bytes;

struct answered {
    response r;
    std::optional<test::decoded> d;
    std::size_t size = 0;
};

answered ask(const compiled_authority& a, const bytes& in, transport t = transport::udp) {
    static std::array<std::uint8_t, max_message_size> out{};
    answered x;
    query q;
    x.r = respond(a, in, t, q, out);
    x.size = x.r.size;
    if (x.r.what == response::action::gate)
        x.size = a.write_answer(q, x.r.plan, out, response_limit(a, q, t));
    if (x.size > 0) x.d = test::decode(std::span(out).first(x.size));
    return x;
}

const test::record* find_opt(const test::decoded& d) {
    for (const auto& r : d.additional)
        if (r.type == type::opt) return &r;
    return nullptr;
}

TEST(dns_codec_edns, opt_is_echoed_with_our_payload_size) {
    compiled_authority a(sample::authority());
    test::query_options o;
    o.edns = true;
    o.payload = 4096;
    auto x = ask(a, test::make_query("www.example.org", type::a, qclass::in, o));
    ASSERT_TRUE(x.d);
    ASSERT_EQ(x.d->answer.size(), 1u);
    const auto* opt = find_opt(*x.d);
    ASSERT_NE(opt, nullptr);
    EXPECT_EQ(opt->name, "");
    EXPECT_EQ(opt->klass, default_max_udp);
    EXPECT_EQ(opt->ttl, 0u) << "no extended rcode, version 0, DO clear";
}

// Issue 11 item 15 (RFC 6891 §7): an EDNS query gets an OPT in its answer whatever the
// rcode: NOTIMP (another opcode), FORMERR (a question that cannot be answered), REFUSED.
TEST(dns_codec_edns, error_answers_to_edns_queries_carry_opt) {
    compiled_authority a(sample::authority());
    test::query_options o;
    o.edns = true;
    o.dnssec_ok = true;
    for (const std::uint16_t opcode : {1, 2, 4, 5, 15}) {  // IQUERY STATUS NOTIFY UPDATE 15
        o.flags = static_cast<std::uint16_t>(opcode << 11);
        auto x = ask(a, test::make_query("www.example.org", type::soa, qclass::in, o));
        ASSERT_TRUE(x.d) << opcode;
        EXPECT_EQ(x.d->rcode, rcode::notimp) << opcode;
        EXPECT_EQ(x.d->qdcount, 1) << "the question is echoed, opcode " << opcode;
        EXPECT_EQ(x.d->qname, "www.example.org") << opcode;
        const auto* opt = find_opt(*x.d);
        ASSERT_NE(opt, nullptr) << "NOTIMP to an EDNS query without OPT, opcode " << opcode;
        EXPECT_EQ(opt->klass, default_max_udp);
        EXPECT_EQ(opt->ttl & 0x8000u, 0x8000u) << "DO copied";
    }
    // Without EDNS: no OPT; a malformed NOTIFY is still NOTIMP, header only.
    auto plain = ask(a, test::make_query("www.example.org", type::soa, qclass::in,
                                         test::query_options{.flags = 4 << 11}));
    ASSERT_TRUE(plain.d);
    EXPECT_EQ(plain.d->rcode, rcode::notimp);
    EXPECT_EQ(find_opt(*plain.d), nullptr);
    auto cut = test::make_query("www.example.org", type::soa, qclass::in, o);
    cut.resize(cut.size() - 3);
    auto x = ask(a, cut);
    ASSERT_TRUE(x.d);
    EXPECT_EQ(x.d->rcode, rcode::notimp);
    // FORMERR and REFUSED to EDNS queries: question repeated, OPT present.
    o.flags = flag::rd;
    auto formerr = ask(a, test::make_query("www.example.org", type::opt, qclass::in, o));
    ASSERT_TRUE(formerr.d);
    EXPECT_EQ(formerr.d->rcode, rcode::formerr);
    EXPECT_EQ(formerr.d->qdcount, 1);
    EXPECT_NE(find_opt(*formerr.d), nullptr);
    auto refused = ask(a, test::make_query("www.example.org", type::a, 3 /* CH */, o));
    ASSERT_TRUE(refused.d);
    EXPECT_EQ(refused.d->rcode, rcode::refused);
    EXPECT_NE(find_opt(*refused.d), nullptr);
}

TEST(dns_codec_edns, do_bit_is_copied) {
    compiled_authority a(sample::authority());
    test::query_options o;
    o.edns = true;
    o.dnssec_ok = true;
    auto x = ask(a, test::make_query("nope.example.org", type::a, qclass::in, o));
    ASSERT_TRUE(x.d);
    EXPECT_EQ(x.d->rcode, rcode::nxdomain);
    const auto* opt = find_opt(*x.d);
    ASSERT_NE(opt, nullptr);
    EXPECT_EQ(opt->ttl, edns_do_bit);
}

TEST(dns_codec_edns, version_above_zero_is_badvers) {
    compiled_authority a(sample::authority());
    test::query_options o;
    o.edns = true;
    o.version = 1;
    auto x = ask(a, test::make_query("www.example.org", type::a, qclass::in, o));
    ASSERT_TRUE(x.d);
    EXPECT_EQ(x.r.status, parse_status::badvers);
    EXPECT_EQ(x.d->rcode, 0) << "BADVERS (16): low 4 bits in the header are 0";
    EXPECT_TRUE(x.d->answer.empty());
    const auto* opt = find_opt(*x.d);
    ASSERT_NE(opt, nullptr);
    EXPECT_EQ(opt->ttl >> 24, 1u) << "upper 8 bits of 16 in the OPT TTL";
}

TEST(dns_codec_edns, udp_limit) {
    query q;
    EXPECT_EQ(udp_response_limit(q, 1232), 512u) << "no EDNS";
    q.has_opt = true;
    q.udp_payload = 100;
    EXPECT_EQ(udp_response_limit(q, 1232), 512u) << "below 512 counts as 512";
    q.udp_payload = 1000;
    EXPECT_EQ(udp_response_limit(q, 1232), 1000u);
    q.udp_payload = 4096;
    EXPECT_EQ(udp_response_limit(q, 1232), 1232u);
    EXPECT_EQ(udp_response_limit(q, 4000), 4000u) << "--max-udp raises our limit";
}

// A zone whose SOA names are long and outside it, so answers carrying the SOA exceed 512.
authority_config big_authority() {
    authority_config c;
    zone_config z;
    z.origin = "big.test";
    std::string label(63, 'n');
    z.primary_ns = label + "." + label + "." + label + ".example.net";
    z.mailbox = label + "." + label + "." + label + ".example.com";
    c.zones.push_back(z);
    c.names.push_back({"vm.big.test", 0, 30, ipv4_address(10, 1, 0, 1), std::nullopt});
    return c;
}

TEST(dns_codec_edns, answer_too_big_for_udp_is_truncated_with_question_only) {
    compiled_authority a(big_authority());
    bytes in = test::make_query("big.test", type::any);
    auto x = ask(a, in);
    ASSERT_TRUE(x.d);
    EXPECT_TRUE(x.d->tc());
    EXPECT_LE(x.size, 512u);
    EXPECT_EQ(x.d->qdcount, 1);
    EXPECT_EQ(x.d->qname, "big.test");
    EXPECT_TRUE(x.d->answer.empty() && x.d->authority.empty() && x.d->additional.empty());
    EXPECT_EQ(x.d->rcode, 0);

    // Over TCP the same answer is complete.
    auto t = ask(a, in, transport::tcp);
    ASSERT_TRUE(t.d);
    EXPECT_FALSE(t.d->tc());
    EXPECT_GT(t.size, 512u);
    EXPECT_EQ(t.d->answer.size(), 2u) << "SOA + NS";

    // With EDNS 4096 it fits in our 1232 and is complete, with OPT.
    test::query_options o;
    o.edns = true;
    auto e = ask(a, test::make_query("big.test", type::any, qclass::in, o));
    ASSERT_TRUE(e.d);
    EXPECT_FALSE(e.d->tc());
    EXPECT_EQ(e.d->answer.size(), 2u);
    EXPECT_NE(find_opt(*e.d), nullptr);

    // With EDNS 512 it is truncated, and the truncated answer still carries OPT.
    o.payload = 512;
    auto s = ask(a, test::make_query("big.test", type::any, qclass::in, o));
    ASSERT_TRUE(s.d);
    EXPECT_TRUE(s.d->tc());
    EXPECT_LE(s.size, 512u);
    EXPECT_NE(find_opt(*s.d), nullptr);
}

TEST(dns_codec_edns, every_limit_gives_a_complete_or_truncated_answer) {
    // write_answer at every limit from the smallest to the full size: never over the limit,
    // always well formed, TC exactly when the full answer did not fit.
    compiled_authority a(big_authority());
    std::array<std::uint8_t, max_message_size> out{};
    query q;
    bytes in = test::make_query("big.test", type::any);
    ASSERT_EQ(parse_query(in, q), parse_status::ok);
    answer_plan p = a.plan(q);
    std::size_t full = a.write_answer(q, p, out, max_message_size);
    for (std::size_t limit = in.size(); limit <= full; ++limit) {
        std::size_t n = a.write_answer(q, p, out, limit);
        ASSERT_GT(n, 0u);
        ASSERT_LE(n, limit);
        auto d = test::decode(std::span(out).first(n));
        ASSERT_TRUE(d);
        EXPECT_EQ(d->tc(), limit < full) << limit;
    }
    EXPECT_EQ(a.write_answer(q, p, out, in.size() - 1), 0u) << "not even the question fits";
}

TEST(dns_codec_edns, config_errors_are_one_line) {
    authority_config c = sample::authority();
    c.names.push_back({"www.other.net", 9, 30, ipv4_address(10, 0, 0, 9), std::nullopt});
    EXPECT_THROW(compiled_authority{c}, std::invalid_argument);
    c = sample::authority();
    c.names.push_back({"WWW.example.org.", 9, 30, ipv4_address(10, 0, 0, 9), std::nullopt});
    EXPECT_THROW(compiled_authority{c}, std::invalid_argument) << "duplicate, any case";
    c = sample::authority();
    c.names.push_back({"ns.example.org", 9, 30, ipv4_address(10, 0, 0, 9), std::nullopt});
    EXPECT_THROW(compiled_authority{c}, std::invalid_argument) << "VM name = name server";
    c = sample::authority();
    c.names.push_back({"a..example.org", 9, 30, ipv4_address(10, 0, 0, 9), std::nullopt});
    EXPECT_THROW(compiled_authority{c}, std::invalid_argument);
    try {
        c = sample::authority();
        c.zones.push_back(c.zones[0]);
        compiled_authority bad(c);
        FAIL() << "duplicate zone accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()), "zone 'example.org' is listed twice");
    }
}

}  // namespace
}  // namespace jitsu::dns
