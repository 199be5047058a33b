// The SYN record: Mirage's options S-expression and the Xenstore paths.

#include "common/syn_record.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace jitsu {
namespace {

using packet::sack_block;
using packet::tcp_option;
using test::hex;

TEST(common_syn_record, sexp_of_the_design_example) {
    // ((MSS 1460) SACK_ok (Timestamp 1 0) Noop (Window_size_shift 7))
    const auto raw = hex("020405b4 0402 080a0000000100000000 01 030307");
    EXPECT_EQ(tcp_options_sexp(raw),
              "((MSS 1460) SACK_ok (Timestamp 1 0) Noop (Window_size_shift 7))");
}

TEST(common_syn_record, empty_and_eol_only_lists) {
    EXPECT_EQ(tcp_options_sexp(hex("")), "()");
    EXPECT_EQ(tcp_options_sexp(hex("00000000")), "()");
    EXPECT_EQ(tcp_options_sexp(hex("01 00 020405b4")), "(Noop)");
    EXPECT_EQ(tcp_options_sexp(std::span<const tcp_option>{}), "()");
}

TEST(common_syn_record, int32_values_print_signed_like_ocaml) {
    // 2882400001 = 0xabcdef01 is -1412567295 as an int32.
    EXPECT_EQ(tcp_options_sexp(hex("080a abcdef01 ffffffff")), "((Timestamp -1412567295 -1))");
    EXPECT_EQ(tcp_options_sexp(hex("080a 7fffffff 80000000")),
              "((Timestamp 2147483647 -2147483648))");
}

TEST(common_syn_record, sack_and_unknown) {
    EXPECT_EQ(tcp_options_sexp(hex("0101 0512 000003e8000007d0 00000bb8ffffffff 1e04 0102")),
              "(Noop Noop (SACK ((1000 2000) (3000 -1))) (Unknown 30 \"\\001\\002\"))");
    EXPECT_EQ(tcp_options_sexp(hex("fe02")), "((Unknown 254 \"\"))");
    // Printable bytes as they are; quote, backslash and control characters escaped.
    EXPECT_EQ(tcp_options_sexp(hex("fe0c 61225c0a090d087e7f80")),
              "((Unknown 254 \"a\\\"\\\\\\n\\t\\r\\b~\\127\\128\"))");
}

TEST(common_syn_record, malformed_lists_give_nothing) {
    EXPECT_FALSE(tcp_options_sexp(hex("020405b4 0203")));
    char buf[max_tcp_options_sexp_length];
    EXPECT_EQ(write_tcp_options_sexp(hex("0201"), buf), 0u);
}

TEST(common_syn_record, writes_into_a_caller_buffer) {
    const auto raw = hex("020405b4 0402");
    const std::string expected = "((MSS 1460) SACK_ok)";
    char buf[max_tcp_options_sexp_length];
    const std::size_t n = write_tcp_options_sexp(raw, buf);
    EXPECT_EQ(std::string(buf, n), expected);
    // Exactly enough room, then one short.
    std::vector<char> exact(expected.size());
    EXPECT_EQ(write_tcp_options_sexp(raw, exact), expected.size());
    std::vector<char> short_by_one(expected.size() - 1);
    EXPECT_EQ(write_tcp_options_sexp(raw, short_by_one), 0u);
}

TEST(common_syn_record, worst_case_lists_fit_the_advertised_bound) {
    // Twenty empty unknown options (2 bytes each) render longest per option byte.
    std::string worst;
    for (int i = 0; i < 20; ++i) worst += "ff02";
    const auto s = tcp_options_sexp(hex(worst));
    ASSERT_TRUE(s);
    EXPECT_LE(s->size(), max_tcp_options_sexp_length);
    // Four SACK blocks of extreme values.
    const auto sack = tcp_options_sexp(
        hex("0101 0522 80000000800000008000000080000000800000008000000080000000800000000101"));
    ASSERT_TRUE(sack);
    EXPECT_LE(sack->size(), max_tcp_options_sexp_length);
}

TEST(common_syn_record, sexp_of_options_in_memory) {
    const sack_block blocks[] = {{1, 2}};
    const std::uint8_t data[] = {'o', 'k'};
    const tcp_option opts[] = {tcp_option::make_mss(536), tcp_option::make_window_scale(14),
                               tcp_option::make_sack(blocks), tcp_option::make_unknown(99, data),
                               tcp_option::make_nop()};
    EXPECT_EQ(tcp_options_sexp(opts),
              "((MSS 536) (Window_size_shift 14) (SACK ((1 2))) (Unknown 99 \"ok\") Noop)");
}

TEST(common_syn_record, xenstore_paths) {
    const four_tuple v4{*ip_address::parse("10.0.0.10"), 80, *ip_address::parse("10.0.0.1"), 43210};
    EXPECT_EQ(syn_record_path(v4), "/ip/10-0-0-10/80/10-0-0-1/43210/syn");
    EXPECT_EQ(ip_state_path(v4.local_ip), "/ip/10-0-0-10");
    EXPECT_EQ(synjitsu_booting_path(v4.local_ip), "/synjitsu/booting/10-0-0-10");
    const four_tuple v6{*ip_address::parse("fd00::a"), 443, *ip_address::parse("fd00::1"), 1};
    EXPECT_EQ(syn_record_path(v6),
              "/ip/fd00-0000-0000-0000-0000-0000-0000-000a/443/"
              "fd00-0000-0000-0000-0000-0000-0000-0001/1/syn");
    // Only Xenstore's path characters.
    for (char c : syn_record_path(v6)) {
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' ||
                    c == '_' || c == '@')
            << c;
    }
}

}  // namespace
}  // namespace jitsu
