// TCP option reader and writer.

#include "common/packet/tcp_options.h"

#include <gtest/gtest.h>

#include <vector>

#include "test_support.h"

namespace jitsu::packet {
namespace {

using test::bytes;
using test::hex;

std::vector<tcp_option> read_all(const bytes& raw, bool* malformed = nullptr) {
    tcp_option_reader r(raw);
    std::vector<tcp_option> out;
    while (auto o = r.next()) out.push_back(*o);
    if (malformed != nullptr) *malformed = r.malformed();
    EXPECT_FALSE(r.next());  // stays finished
    return out;
}

TEST(common_tcp_options, reads_a_linux_syn) {
    bool malformed = true;
    const auto opts = read_all(hex("020405b4 0402 080aabcdef0100000000 01 030307"), &malformed);
    EXPECT_FALSE(malformed);
    ASSERT_EQ(opts.size(), 5u);
    EXPECT_EQ(opts[0].kind, tcp_option_kind::mss);
    EXPECT_EQ(opts[0].mss, 1460);
    EXPECT_EQ(opts[1].kind, tcp_option_kind::sack_permitted);
    EXPECT_EQ(opts[2].kind, tcp_option_kind::timestamp);
    EXPECT_EQ(opts[2].ts_value, 2882400001U);
    EXPECT_EQ(opts[2].ts_echo, 0U);
    EXPECT_EQ(opts[3].kind, tcp_option_kind::nop);
    EXPECT_EQ(opts[4].kind, tcp_option_kind::window_scale);
    EXPECT_EQ(opts[4].window_scale, 7);
    EXPECT_EQ(opts[4].data.size(), 1u);
}

TEST(common_tcp_options, sack_blocks_and_unknown_kinds) {
    bool malformed = true;
    // `data` points into the option bytes: keep them alive.
    const bytes raw = hex("0101 0512 000003e8000007d0 00000bb800000fa0 1e04 0102");
    const auto opts = read_all(raw, &malformed);
    EXPECT_FALSE(malformed);
    ASSERT_EQ(opts.size(), 4u);
    EXPECT_EQ(opts[2].kind, tcp_option_kind::sack);
    ASSERT_EQ(opts[2].sack_count, 2);
    EXPECT_EQ(opts[2].sack[0], (sack_block{1000, 2000}));
    EXPECT_EQ(opts[2].sack[1], (sack_block{3000, 4000}));
    EXPECT_EQ(opts[3].kind, 30);
    EXPECT_EQ(opts[3].data.size(), 2u);
    EXPECT_EQ(opts[3].data[1], 0x02);
}

TEST(common_tcp_options, eol_ends_the_list) {
    bool malformed = true;
    const auto opts = read_all(hex("01 00 020405b4"), &malformed);
    EXPECT_FALSE(malformed);
    ASSERT_EQ(opts.size(), 1u);
    EXPECT_TRUE(read_all(hex("")).empty());
    EXPECT_TRUE(read_all(hex("00000000")).empty());
}

TEST(common_tcp_options, malformed_lists_stop_and_say_so) {
    const char* cases[] = {
        "02",                        // kind without length
        "0201",                      // length 1
        "0200",                      // length 0
        "020405",                    // MSS cut short
        "0203 05",                   // MSS with length 3
        "030400 00",                 // window scale with length 4
        "0403",                      // SACK-permitted with length 3
        "080a 0000000100",           // timestamp cut short
        "0809 000000010000000000",   // timestamp with length 9
        "0506 000000000000",         // SACK with no whole block
        "050b 0000000000000000 00",  // SACK with 9 bytes
        "1e05 0102",                 // unknown kind past the end
    };
    for (const char* c : cases) {
        bool malformed = false;
        read_all(hex(c), &malformed);
        EXPECT_TRUE(malformed) << c;
    }
    // Options before the fault are still returned.
    bool malformed = false;
    const auto opts = read_all(hex("01 020405b4 0201"), &malformed);
    EXPECT_TRUE(malformed);
    EXPECT_EQ(opts.size(), 2u);
}

TEST(common_tcp_options, writer_pads_with_eol) {
    const tcp_option opts[] = {tcp_option::make_mss(1460), tcp_option::make_sack_permitted(),
                               tcp_option::make_timestamp(2882400001U, 0), tcp_option::make_nop(),
                               tcp_option::make_window_scale(7)};
    std::array<std::uint8_t, 40> out{};
    EXPECT_EQ(write_tcp_options(out, opts), 20u);
    EXPECT_EQ(bytes(out.begin(), out.begin() + 20),
              hex("020405b4 0402 080aabcdef0100000000 01 030307"));

    const tcp_option three[] = {tcp_option::make_window_scale(2)};
    out.fill(0xee);
    EXPECT_EQ(write_tcp_options(out, three), 4u);
    EXPECT_EQ(bytes(out.begin(), out.begin() + 4), hex("030302 00"));
    EXPECT_EQ(write_tcp_options(out, {}), 0u);
}

TEST(common_tcp_options, writer_round_trips_sack_and_unknown) {
    const sack_block blocks[] = {{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}};
    const bytes data = hex("abcdef");
    const tcp_option opts[] = {tcp_option::make_sack(blocks), tcp_option::make_unknown(253, data)};
    EXPECT_EQ(opts[0].sack_count, 4);  // the fifth does not fit
    std::array<std::uint8_t, 40> out{};
    const auto n = write_tcp_options(out, opts);
    ASSERT_EQ(n, 40u);  // 34 + 5 + 1 byte of padding
    const bytes written(out.begin(), out.end());
    const auto back = read_all(written);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].sack_count, 4);
    EXPECT_EQ(back[0].sack[3], (sack_block{7, 8}));
    EXPECT_EQ(back[1].kind, 253);
    EXPECT_EQ(bytes(back[1].data.begin(), back[1].data.end()), data);
}

TEST(common_tcp_options, writer_refuses_what_does_not_fit) {
    std::vector<tcp_option> many(41, tcp_option::make_nop());
    std::array<std::uint8_t, 60> out{};
    EXPECT_FALSE(write_tcp_options(out, many));  // 41 > 40 bytes of option space
    many.resize(40);
    EXPECT_EQ(write_tcp_options(out, many), 40u);
    const tcp_option mss[] = {tcp_option::make_mss(1)};
    std::array<std::uint8_t, 3> small{};
    EXPECT_FALSE(write_tcp_options(small, mss));
    EXPECT_FALSE(write_tcp_options(out, std::vector<tcp_option>{tcp_option::make_sack({})}));
    const bytes big(39);
    const tcp_option too_long[] = {tcp_option::make_unknown(99, big)};
    EXPECT_FALSE(write_tcp_options(out, too_long));
}

}  // namespace
}  // namespace jitsu::packet
