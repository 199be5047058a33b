// The codec's golden table: {description, query, expected rcode/flags/sections}, answered
// from the sample authority (jitsu-dns/dns/fuzz/sample_authority.h) over UDP.
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "dns_test_util.h"
#include "jitsu_dns/responder.h"
#include "sample_authority.h"

namespace jitsu::dns {
namespace {

using test::bytes;
using test::make_query;

// Expected record: "owner type ttl rdata" compared as text, e.g. "www.example.org A 30 10.0.0.10".
using rr_list = std::vector<std::string>;

struct golden {
    std::string description;
    std::function<bytes()> query;
    response::action action = response::action::send;
    std::uint8_t rcode = 0;
    bool aa = true;
    rr_list answer, authority, additional;  // additional without OPT (checked separately)
    bool tc = false;
};

std::string type_name(std::uint16_t t) {
    switch (t) {
        case type::a:
            return "A";
        case type::aaaa:
            return "AAAA";
        case type::ns:
            return "NS";
        case type::soa:
            return "SOA";
        case type::opt:
            return "OPT";
        default:
            return std::to_string(t);
    }
}

rr_list texts(const std::vector<test::record>& rs, bool skip_opt = false) {
    rr_list out;
    for (const auto& r : rs) {
        if (skip_opt && r.type == type::opt) continue;
        out.push_back(r.name + " " + type_name(r.type) + " " + std::to_string(r.ttl) + " " +
                      r.rdata_text);
    }
    return out;
}

const std::string soa_ex =
    "example.org SOA 60 ns.example.org hostmaster.example.org 2024010101 3600 600 86400 60";
const std::string soa_ex_apex =
    "example.org SOA 3600 ns.example.org hostmaster.example.org 2024010101 3600 600 86400 60";
const std::string soa_sub =
    "sub.example.org SOA 120 ns.example.org hostmaster.example.org 1 3600 600 86400 300";
const std::string ns_ex = "example.org NS 3600 ns.example.org";
const std::string glue4 = "ns.example.org A 3600 10.0.0.1";
const std::string glue6 = "ns.example.org AAAA 3600 fd00::1";
constexpr std::uint16_t mx = 15;

bytes with_pointer_question() {
    // www.example.org whose root label is reached through a pointer to offset 11 (the
    // low octet of ARCOUNT = 0): compression in the question, pointing backwards.
    bytes b = test::header(0x4242, flag::rd, 1);
    bytes n = test::wire("www.example.org");
    b.insert(b.end(), n.begin(), n.end() - 1);
    test::append(b, {0xc0, 0x0b});
    test::append16(b, type::a);
    test::append16(b, qclass::in);
    return b;
}

bytes raw_question(std::initializer_list<std::uint8_t> name, std::uint16_t qd = 1) {
    bytes b = test::header(0x1234, flag::rd, qd);
    test::append(b, name);
    test::append16(b, type::a);
    test::append16(b, qclass::in);
    return b;
}

bytes long_name_query(std::size_t labels, std::size_t label_len) {
    bytes b = test::header(0x1234, 0, 1);
    for (std::size_t i = 0; i < labels; ++i) {
        b.push_back(static_cast<std::uint8_t>(label_len));
        b.insert(b.end(), label_len, 'a');
    }
    b.push_back(0);
    test::append16(b, type::a);
    test::append16(b, qclass::in);
    return b;
}

bytes edns_query(std::uint8_t version, int count, bool do_bit = false) {
    test::query_options o;
    o.edns = true;
    o.version = version;
    o.opt_count = count;
    o.dnssec_ok = do_bit;
    return make_query("www.example.org", type::a, qclass::in, o);
}

const std::vector<golden>& table() {
    using A = response::action;
    static const std::vector<golden> t = {
        {"A for a VM name",
         [] { return make_query("www.example.org", type::a); },
         A::gate,
         0,
         true,
         {"www.example.org A 30 10.0.0.10"}},
        {"AAAA for a VM name",
         [] { return make_query("www.example.org", type::aaaa); },
         A::gate,
         0,
         true,
         {"www.example.org AAAA 30 fd00::10"}},
        {"ANY for a VM name returns both",
         [] { return make_query("www.example.org", type::any); },
         A::gate,
         0,
         true,
         {"www.example.org A 30 10.0.0.10", "www.example.org AAAA 30 fd00::10"}},
        {"ANY for an A-only VM",
         [] { return make_query("v4.deep.example.org", type::any); },
         A::gate,
         0,
         true,
         {"v4.deep.example.org A 5 10.0.0.11"}},
        {"A for an AAAA-only VM: NODATA",
         [] { return make_query("v6.example.org", type::a); },
         A::gate,
         0,
         true,
         {},
         {soa_ex}},
        {"MX on a VM name: NODATA without the gate",
         [] { return make_query("www.example.org", mx); },
         A::send,
         0,
         true,
         {},
         {soa_ex}},
        {"any case matches; question echoed as sent",
         [] { return make_query("WwW.ExAmPlE.oRg", type::a); },
         A::gate,
         0,
         true,
         {"WwW.ExAmPlE.oRg A 30 10.0.0.10"}},
        {"unknown name in zone: NXDOMAIN + SOA (min(ttl, minimum))",
         [] { return make_query("nope.example.org", type::a); },
         A::send,
         rcode::nxdomain,
         true,
         {},
         {soa_ex}},
        {"NXDOMAIN keeps the client's case in the SOA owner (pointer into the question)",
         [] { return make_query("nope.EXAMPLE.org", type::a); },
         A::send,
         rcode::nxdomain,
         true,
         {},
         {"EXAMPLE.org SOA 60 ns.EXAMPLE.org hostmaster.EXAMPLE.org 2024010101 3600 600 86400 60"}},
        {"empty non-terminal: NODATA",
         [] { return make_query("deep.example.org", type::a); },
         A::send,
         0,
         true,
         {},
         {soa_ex}},
        {"below a VM name: NXDOMAIN",
         [] { return make_query("x.www.example.org", type::a); },
         A::send,
         rcode::nxdomain,
         true,
         {},
         {soa_ex}},
        {"SOA at the apex",
         [] { return make_query("example.org", type::soa); },
         A::send,
         0,
         true,
         {soa_ex_apex}},
        {"NS at the apex with in-zone glue",
         [] { return make_query("example.org", type::ns); },
         A::send,
         0,
         true,
         {ns_ex},
         {},
         {glue4, glue6}},
        {"A of the apex (also a VM name)",
         [] { return make_query("example.org", type::a); },
         A::gate,
         0,
         true,
         {"example.org A 9 10.0.0.3"}},
        {"A of the in-zone name server",
         [] { return make_query("ns.example.org", type::a); },
         A::send,
         0,
         true,
         {glue4}},
        {"AAAA of the in-zone name server",
         [] { return make_query("ns.example.org", type::aaaa); },
         A::send,
         0,
         true,
         {glue6}},
        {"nested zone: NXDOMAIN carries the inner SOA",
         [] { return make_query("nope.sub.example.org", type::a); },
         A::send,
         rcode::nxdomain,
         true,
         {},
         {soa_sub}},
        {"nested zone apex: SOA",
         [] { return make_query("sub.example.org", type::soa); },
         A::send,
         0,
         true,
         {"sub.example.org SOA 120 ns.example.org hostmaster.example.org 1 3600 600 86400 300"}},
        {"nested zone: NS outside the zone, no glue",
         [] { return make_query("sub.example.org", type::ns); },
         A::send,
         0,
         true,
         {"sub.example.org NS 120 ns.example.org"}},
        {"zone whose name server is its apex: NS + glue",
         [] { return make_query("test", type::ns); },
         A::send,
         0,
         true,
         {"test NS 60 test"},
         {},
         {"test A 60 10.0.0.2"}},
        {"VM in nested zone",
         [] { return make_query("vm.sub.example.org", type::a); },
         A::gate,
         0,
         true,
         {"vm.sub.example.org A 11 10.0.0.40"}},
        {"class ANY answers with class IN records",
         [] { return make_query("ns.example.org", type::a, qclass::any); },
         A::send,
         0,
         true,
         {glue4}},
        {"outside every zone: forward", [] { return make_query("www.other.net", type::a); },
         A::forward},
        {"parent of a zone: forward", [] { return make_query("org", type::a); }, A::forward},
        {"suffix that is not a label boundary: forward",
         [] { return make_query("xexample.org", type::a); }, A::forward},
        {"compression pointer in the question",
         with_pointer_question,
         A::gate,
         0,
         true,
         {"www.example.org A 30 10.0.0.10"}},
        {"QDCOUNT 0: FORMERR", [] { return test::header(1, 0, 0); }, A::send, rcode::formerr,
         false},
        {"QDCOUNT 2: FORMERR",
         [] {
             bytes b = make_query("www.example.org", type::a);
             b[5] = 2;
             return b;
         },
         A::send, rcode::formerr, false},
        {"question cut short: FORMERR",
         [] {
             bytes b = make_query("www.example.org", type::a);
             b.resize(b.size() - 1);
             return b;
         },
         A::send, rcode::formerr, false},
        {"label of 64 octets: FORMERR", [] { return long_name_query(1, 64); }, A::send,
         rcode::formerr, false},
        {"name of 256 octets: FORMERR", [] { return long_name_query(5, 50); }, A::send,
         rcode::formerr, false},
        {"name of 255 octets: accepted (outside the zones)",
         [] {
             bytes b = long_name_query(4, 63);  // 257 octets: cut the last label to 61
             b[12 + 3 * 64] = 61;
             b.erase(b.begin() + 12 + 3 * 64 + 1, b.begin() + 12 + 3 * 64 + 3);
             return b;
         },
         A::forward},
        {"reserved label type 0x40: FORMERR",
         [] {
             return raw_question({0x41, 'a', 0});
         },
         A::send, rcode::formerr, false},
        {"pointer to itself: FORMERR",
         [] {
             return raw_question({0xc0, 0x0c});
         },
         A::send, rcode::formerr, false},
        {"forward pointer: FORMERR",
         [] {
             return raw_question({0x01, 'a', 0xc0, 0x20, 0});
         },
         A::send, rcode::formerr, false},
        {"pointer past the end: FORMERR", [] { return raw_question({0xc0}); }, A::send,
         rcode::formerr, false},
        {"qtype OPT: FORMERR", [] { return make_query("www.example.org", type::opt); }, A::send,
         rcode::formerr, false},
        {"opcode STATUS: NOTIMP", [] { return test::header(7, 2 << 11, 1); }, A::send,
         rcode::notimp, false},
        {"AXFR: NOTIMP", [] { return make_query("example.org", type::axfr); }, A::send,
         rcode::notimp, false},
        {"IXFR: NOTIMP", [] { return make_query("example.org", type::ixfr); }, A::send,
         rcode::notimp, false},
        {"class CH: REFUSED", [] { return make_query("version.bind", 16, 3); }, A::send,
         rcode::refused, false},
        {"QR=1: dropped", [] { return test::header(1, flag::qr, 1); }, A::drop},
        {"shorter than a header: dropped",
         [] {
             return bytes{1, 2, 3};
         },
         A::drop},
        {"two OPT records: FORMERR", [] { return edns_query(0, 2); }, A::send, rcode::formerr,
         false},
        {"OPT with a non-root owner: FORMERR",
         [] {
             bytes b = make_query("www.example.org", type::a);
             b[11] = 1;
             bytes o;
             test::append_opt(o, 1232, 0, false);
             o[0] = 0xc0;  // owner: pointer to the question name
             o.insert(o.begin() + 1, 0x0c);
             b.insert(b.end(), o.begin(), o.end());
             return b;
         },
         A::send, rcode::formerr, false},
        {"OPT option overrunning its RDATA: FORMERR",
         [] {
             bytes b = make_query("www.example.org", type::a);
             b[11] = 1;
             test::append_opt(b, 1232, 0, false, {0, 10, 0, 5, 1});
             return b;
         },
         A::send, rcode::formerr, false},
        {"additional record cut short: FORMERR",
         [] {
             bytes b = make_query("www.example.org", type::a);
             b[11] = 1;
             test::append(b, {0, 0, 41});
             return b;
         },
         A::send, rcode::formerr, false},
    };
    return t;
}

class codec_table : public ::testing::TestWithParam<std::size_t> {};

TEST_P(codec_table, dns_codec_golden) {
    static const compiled_authority authority(sample::authority());
    const golden& g = table()[GetParam()];
    SCOPED_TRACE(g.description);
    bytes in = g.query();
    std::array<std::uint8_t, max_message_size> out{};
    query q;
    response r = respond(authority, in, transport::udp, q, out);
    ASSERT_EQ(static_cast<int>(r.what), static_cast<int>(g.action));
    if (g.action == response::action::drop || g.action == response::action::forward) return;
    std::size_t size = r.size;
    if (r.what == response::action::gate) {
        size = authority.write_answer(q, r.plan, out, response_limit(authority, q, transport::udp));
    }
    ASSERT_GT(size, 0u);
    auto d = test::decode(std::span(out).first(size));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->id, load_be16(in.data()));
    EXPECT_TRUE(d->flags & flag::qr);
    EXPECT_EQ(d->rcode, g.rcode);
    EXPECT_EQ(d->aa(), g.aa);
    EXPECT_EQ(d->tc(), g.tc);
    EXPECT_FALSE(d->ra()) << "RA is never set on our own answers";
    EXPECT_EQ(d->rd(), (load_be16(in.data() + 2) & flag::rd) != 0) << "RD is copied";
    EXPECT_EQ(texts(d->answer), g.answer);
    EXPECT_EQ(texts(d->authority), g.authority);
    EXPECT_EQ(texts(d->additional, true), g.additional);
    if (r.status == parse_status::ok) {
        EXPECT_EQ(d->qdcount, 1);
        EXPECT_EQ(d->qtype, q.qtype);
    }
}

INSTANTIATE_TEST_SUITE_P(dns_codec, codec_table, ::testing::Range<std::size_t>(0, table().size()));

}  // namespace
}  // namespace jitsu::dns
