// The queued-SYN record (common/syn_queue.h): encode/decode round trip and every
// rejection of the strict decoder.
#include "common/syn_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <variant>

#include "common/hex.h"
#include "guest_test_support.h"

namespace jitsu {
namespace {

using guest::testing::make_queued_syn;

const four_tuple tuple4{*ip_address::parse("10.0.0.10"), 80, *ip_address::parse("10.0.0.2"), 43210};
const four_tuple tuple6{*ip_address::parse("fd00::10"), 443, *ip_address::parse("fd00::2"), 50000};

std::map<std::string, std::string> encoded(const queued_syn& s) {
    std::map<std::string, std::string> m;
    for (auto& [k, v] : encode_queued_syn(s)) m.emplace(std::string(k), v);
    return m;
}

std::variant<queued_syn, syn_decode_error> decode(const four_tuple& t,
                                                  const std::map<std::string, std::string>& m) {
    std::vector<syn_field_view> fields;
    for (const auto& [k, v] : m) fields.emplace_back(k, v);
    return decode_queued_syn(t, fields);
}

// The decoder's verdict on the record with one field replaced.
std::string rejection(const std::string& field, const std::string& value,
                      const four_tuple& t = tuple4) {
    auto m = encoded(make_queued_syn(t, 1));
    m[field] = value;
    auto r = decode(t, m);
    if (auto* e = std::get_if<syn_decode_error>(&r)) return e->to_string();
    return "accepted";
}

TEST(guest_syn_queue, paths_use_the_xenstore_forms) {
    EXPECT_EQ(ip_root(tuple4.local_ip), "/ip/10-0-0-10");
    EXPECT_EQ(syn_node(tuple4), "/ip/10-0-0-10/80/10-0-0-2/43210/syn");
    EXPECT_EQ(connection_node(tuple4), "/ip/10-0-0-10/80/10-0-0-2/43210");
    EXPECT_EQ(syn_node(tuple6),
              "/ip/fd00-0000-0000-0000-0000-0000-0000-0010/443/"
              "fd00-0000-0000-0000-0000-0000-0000-0002/50000/syn");
}

TEST(guest_syn_queue, encodes_the_design_formats) {
    queued_syn s = make_queued_syn(tuple4, 1700000000123456789ULL, 4000000000U);
    s.tx_isn = 4294967295U;
    s.rx_wnd = 65535U << 14;
    s.rx_wnd_scaleoffer = 14;
    s.count = 3;
    const auto m = encoded(s);
    ASSERT_EQ(m.size(), 10U);
    EXPECT_EQ(m.at("sequence"), "4000000000");
    EXPECT_EQ(m.at("tx_isn"), "4294967295");
    EXPECT_EQ(m.at("rx_wnd"), "1073725440");
    EXPECT_EQ(m.at("rx_wnd_scaleoffer"), "14");
    EXPECT_EQ(m.at("tx_wnd"), "64240");
    EXPECT_EQ(m.at("time"), "1700000000123456789");
    EXPECT_EQ(m.at("count"), "3");
    EXPECT_EQ(m.at("mac"), "02:00:00:00:00:01");
    EXPECT_EQ(m.at("options"),
              "((MSS 1460) SACK_ok (Timestamp 12345 0) Noop (Window_size_shift 7))");
    EXPECT_EQ(m.at("frame"), to_hex(s.frame));
    EXPECT_EQ(m.at("frame").find_first_of("ABCDEF"), std::string::npos);
    // Field order is the table's.
    const auto fields = encode_queued_syn(s);
    EXPECT_EQ(fields.front().first, "tx_wnd");
    EXPECT_EQ(fields.back().first, "count");
}

TEST(guest_syn_queue, round_trips_ipv4_and_ipv6) {
    for (const auto& t : {tuple4, tuple6}) {
        queued_syn s = make_queued_syn(t, 18446744073709551615ULL, 0);
        s.tx_isn = 0;
        s.rx_wnd = 0;
        s.rx_wnd_scaleoffer = 0;
        s.count = 4294967295U;
        auto r = decode(t, encoded(s));
        ASSERT_TRUE(std::holds_alternative<queued_syn>(r))
            << std::get<syn_decode_error>(r).to_string();
        EXPECT_EQ(std::get<queued_syn>(r), s);
    }
}

TEST(guest_syn_queue, ignores_unknown_fields) {
    auto m = encoded(make_queued_syn(tuple4, 1));
    m["future_field"] = "whatever";
    EXPECT_TRUE(std::holds_alternative<queued_syn>(decode(tuple4, m)));
}

TEST(guest_syn_queue, rejects_missing_and_duplicate_fields) {
    for (const auto& [name, value] : encoded(make_queued_syn(tuple4, 1))) {
        auto m = encoded(make_queued_syn(tuple4, 1));
        m.erase(name);
        auto r = decode(tuple4, m);
        ASSERT_TRUE(std::holds_alternative<syn_decode_error>(r)) << name;
        EXPECT_EQ(std::get<syn_decode_error>(r).field, name);
        EXPECT_EQ(std::get<syn_decode_error>(r).reason, "missing");
    }
    std::vector<std::pair<std::string, std::string>> owned;
    for (auto& [k, v] : encode_queued_syn(make_queued_syn(tuple4, 1))) owned.emplace_back(k, v);
    owned.emplace_back("count", "2");
    std::vector<syn_field_view> fields(owned.begin(), owned.end());
    auto r = decode_queued_syn(tuple4, fields);
    ASSERT_TRUE(std::holds_alternative<syn_decode_error>(r));
    EXPECT_EQ(std::get<syn_decode_error>(r).to_string(), "count: given twice");
}

TEST(guest_syn_queue, rejects_malformed_numbers) {
    const char* numeric[] = {"tx_wnd", "sequence", "tx_isn", "rx_wnd", "rx_wnd_scaleoffer",
                             "time",   "count"};
    const char* bad[] = {"",
                         "-1",
                         "+1",
                         " 1",
                         "1 ",
                         "01",
                         "0x10",
                         "1e3",
                         "1.0",
                         "abc",
                         "99999999999999999999",
                         "184467440737095516160",
                         "18446744073709551616"};
    for (const char* f : numeric) {
        for (const char* v : bad) {
            const std::string why = rejection(f, v);
            EXPECT_EQ(why.rfind(std::string(f) + ": not a decimal integer", 0), 0U)
                << f << "=" << v << " -> " << why;
        }
    }
}

TEST(guest_syn_queue, rejects_out_of_range_numbers) {
    EXPECT_EQ(rejection("tx_wnd", "65536"), "tx_wnd: not a decimal integer in 0..65535");
    EXPECT_EQ(rejection("tx_wnd", "65535"), "accepted");
    EXPECT_EQ(rejection("sequence", "4294967296"),
              "sequence: not a decimal integer in 0..4294967295");
    EXPECT_EQ(rejection("sequence", "4294967295"), "accepted");
    EXPECT_EQ(rejection("tx_isn", "4294967296"), "tx_isn: not a decimal integer in 0..4294967295");
    EXPECT_EQ(rejection("rx_wnd", "1073725441"), "rx_wnd: not a decimal integer in 0..1073725440");
    EXPECT_EQ(rejection("rx_wnd_scaleoffer", "15"),
              "rx_wnd_scaleoffer: not a decimal integer in 0..14");
    EXPECT_EQ(rejection("count", "0"), "count: not a decimal integer in 1..4294967295");
    EXPECT_EQ(rejection("count", "4294967296"), "count: not a decimal integer in 1..4294967295");
    EXPECT_EQ(rejection("time", "18446744073709551615"), "accepted");
}

TEST(guest_syn_queue, rejects_bad_mac) {
    for (const char* v : {"", "02:00:00:00:00", "02:00:00:00:00:01:02", "zz:00:00:00:00:01",
                          "0200.0000.0001", "02:00:00:00:00:1"}) {
        EXPECT_EQ(rejection("mac", v), "mac: not a MAC address aa:bb:cc:dd:ee:ff") << v;
    }
}

TEST(guest_syn_queue, rejects_bad_frames) {
    const std::string good = encoded(make_queued_syn(tuple4, 1)).at("frame");
    EXPECT_EQ(rejection("frame", ""), "frame: empty");
    EXPECT_EQ(rejection("frame", good + "0"), "frame: not lowercase hex of even length");
    std::string upper = good;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(rejection("frame", upper), "frame: not lowercase hex of even length");
    EXPECT_EQ(rejection("frame", good.substr(0, 20) + "zz" + good.substr(22)),
              "frame: not lowercase hex of even length");
    EXPECT_EQ(rejection("frame", std::string(2 * 65536 + 2, 'a')),
              "frame: longer than 65536 bytes");
    // A 64 KiB frame of garbage gets past the size check and fails as a frame.
    EXPECT_EQ(rejection("frame", std::string(2 * 65536, '0')),
              "frame: not an Ethernet/IP/TCP frame");
    EXPECT_EQ(rejection("frame", "00112233445566778899aabbccdd"),
              "frame: not an Ethernet/IP/TCP frame");
    // A frame that is not this connection's SYN.
    const four_tuple other{tuple4.local_ip, 81, tuple4.remote_ip, tuple4.remote_port};
    EXPECT_EQ(rejection("frame", encoded(make_queued_syn(other, 1)).at("frame")),
              "frame: addresses or ports differ from the path's connection");
    // SYN+ACK is no connection request.
    auto syn = make_queued_syn(tuple4, 1);
    auto f = syn.frame;
    f[14 + 20 + 13] |= 0x10;
    EXPECT_EQ(rejection("frame", to_hex(f)), "frame: not a SYN without ACK");
}

TEST(guest_syn_queue, rejects_bad_options) {
    EXPECT_EQ(rejection("options", "()"), "accepted");
    EXPECT_EQ(rejection("options", "((Unknown 99 \"a\\\"b\"))"), "accepted");
    const std::string why =
        "options: not one printable S-expression list of at most 512 characters";
    for (const char* v : {"", "(", ")", "MSS 1460", "((MSS 1460)", "(MSS 1460))", "() ()",
                          "(\"unterminated)", "(a\tb)", "(\x01)"}) {
        EXPECT_EQ(rejection("options", v), why) << v;
    }
    EXPECT_EQ(rejection("options", "(" + std::string(511, 'a') + ")"), why);
}

TEST(guest_syn_queue, parse_decimal_is_strict) {
    EXPECT_EQ(parse_decimal("0", 10), 0U);
    EXPECT_EQ(parse_decimal("10", 10), 10U);
    EXPECT_EQ(parse_decimal("11", 10), std::nullopt);
    EXPECT_EQ(parse_decimal("18446744073709551615", UINT64_MAX), UINT64_MAX);
    EXPECT_EQ(parse_decimal("18446744073709551616", UINT64_MAX), std::nullopt);
    EXPECT_EQ(parse_decimal("007", 10), std::nullopt);
    EXPECT_EQ(parse_decimal("", 10), std::nullopt);
}

}  // namespace
}  // namespace jitsu
