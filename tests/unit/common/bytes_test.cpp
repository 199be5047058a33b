// byte_reader / byte_writer, hex and the Internet checksum.

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

#include "common/byte_io.h"
#include "common/checksum.h"
#include "common/hex.h"

namespace jitsu {
namespace {

TEST(common_byte_reader, reads_big_endian) {
    const std::array<std::uint8_t, 9> data{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};
    byte_reader r(data);
    EXPECT_EQ(r.u8(), 0x01);
    EXPECT_EQ(r.u16(), 0x0203);
    EXPECT_EQ(r.u32(), 0x04050607U);
    EXPECT_EQ(r.remaining(), 2u);
    EXPECT_EQ(r.offset(), 7u);
    const auto rest = r.bytes(2);
    ASSERT_TRUE(rest);
    EXPECT_EQ((*rest)[1], 0x09);
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_FALSE(r.failed());
}

TEST(common_byte_reader, never_reads_past_the_end_and_stays_failed) {
    const std::array<std::uint8_t, 3> data{0xaa, 0xbb, 0xcc};
    byte_reader r(data);
    EXPECT_EQ(r.u16(), 0xaabb);
    EXPECT_FALSE(r.u16());  // one byte left
    EXPECT_TRUE(r.failed());
    EXPECT_FALSE(r.u8());  // sticky, although a byte is there
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_TRUE(r.rest().empty());

    byte_reader huge(data);
    EXPECT_FALSE(huge.skip(SIZE_MAX));  // no wrap-around in the bounds check
    EXPECT_FALSE(huge.bytes(4));
}

TEST(common_byte_reader, zero_length_reads_on_empty_input) {
    byte_reader r(std::span<const std::uint8_t>{});
    EXPECT_TRUE(r.bytes(0));
    EXPECT_TRUE(r.skip(0));
    EXPECT_FALSE(r.failed());
    EXPECT_FALSE(r.u8());
    EXPECT_TRUE(r.failed());
}

TEST(common_byte_writer, writes_big_endian_and_refuses_overflow) {
    std::array<std::uint8_t, 8> out{};
    byte_writer w(out);
    EXPECT_TRUE(w.u8(0x01));
    EXPECT_TRUE(w.u16(0x0203));
    EXPECT_TRUE(w.u32(0x04050607U));
    EXPECT_EQ(w.written(), 7u);
    EXPECT_FALSE(w.u16(0xffff));  // only one byte left: nothing written
    EXPECT_EQ(out[7], 0x00);
    EXPECT_TRUE(w.failed());
    EXPECT_FALSE(w.u8(0xff));  // sticky
    EXPECT_EQ(out[7], 0x00);
    const std::array<std::uint8_t, 8> expected{1, 2, 3, 4, 5, 6, 7, 0};
    EXPECT_EQ(out, expected);
}

TEST(common_byte_writer, bytes_zeros_and_skip) {
    std::array<std::uint8_t, 6> out{9, 9, 9, 9, 9, 9};
    byte_writer w(out);
    const std::array<std::uint8_t, 2> two{0xab, 0xcd};
    EXPECT_TRUE(w.bytes(two));
    EXPECT_TRUE(w.skip(1));
    EXPECT_TRUE(w.zeros(2));
    EXPECT_EQ(w.data().size(), 5u);
    EXPECT_FALSE(w.zeros(2));
    const std::array<std::uint8_t, 6> expected{0xab, 0xcd, 9, 0, 0, 9};
    EXPECT_EQ(out, expected);
    byte_writer empty(std::span<std::uint8_t>{});
    EXPECT_TRUE(empty.zeros(0));
    EXPECT_FALSE(empty.u8(1));
}

TEST(common_hex, encodes_lowercase) {
    const std::vector<std::uint8_t> data{0x00, 0x01, 0xab, 0xff, 0x7f};
    EXPECT_EQ(to_hex(data), "0001abff7f");
    EXPECT_EQ(to_hex({}), "");
    std::array<char, 9> small{};
    EXPECT_EQ(hex_encode(data, small), 0u);
    std::array<char, 10> exact{};
    EXPECT_EQ(hex_encode(data, exact), 10u);
    EXPECT_EQ(std::string_view(exact.data(), 10), "0001abff7f");
}

TEST(common_hex, decodes_strictly) {
    EXPECT_EQ(from_hex("0001abff7f"), (std::vector<std::uint8_t>{0x00, 0x01, 0xab, 0xff, 0x7f}));
    EXPECT_EQ(from_hex("ABcd"), (std::vector<std::uint8_t>{0xab, 0xcd}));
    EXPECT_EQ(from_hex(""), std::vector<std::uint8_t>{});
    for (const char* bad : {"0", "abc", "0g", "g0", " 00", "00 ", "0x00", "-1", "0\n"}) {
        EXPECT_FALSE(from_hex(bad)) << bad;
    }
    std::array<std::uint8_t, 2> out{7, 7};
    EXPECT_FALSE(hex_decode("aabbcc", out));  // too small
    EXPECT_FALSE(hex_decode("aazz", out));
    EXPECT_EQ(out[0], 7);  // untouched on failure
    EXPECT_EQ(hex_decode("aabb", out), 2u);
    EXPECT_EQ(out[1], 0xbb);
}

TEST(common_hex, round_trips_every_byte) {
    std::vector<std::uint8_t> all(256);
    for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
    EXPECT_EQ(from_hex(to_hex(all)), all);
}

TEST(common_checksum, rfc1071_example) {
    // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    const std::array<std::uint8_t, 8> data{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    internet_checksum c;
    c.add(data);
    EXPECT_EQ(c.sum(), 0xddf2);
    EXPECT_EQ(c.finish(), 0x220d);
    EXPECT_EQ(checksum(data), 0x220d);
}

TEST(common_checksum, odd_length_pads_with_zero) {
    const std::array<std::uint8_t, 3> odd{0x12, 0x34, 0x56};
    const std::array<std::uint8_t, 4> padded{0x12, 0x34, 0x56, 0x00};
    EXPECT_EQ(checksum(odd), checksum(padded));
    EXPECT_EQ(checksum({}), 0xffff);
}

TEST(common_checksum, incremental_equals_one_shot_at_any_split) {
    std::mt19937 rng(1071);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::uint8_t> data(rng() % 100);
        for (auto& b : data) b = static_cast<std::uint8_t>(rng());
        const std::uint16_t expected = checksum(data);
        // Split into up to four random chunks, including odd and empty ones.
        internet_checksum c;
        std::size_t at = 0;
        for (int chunk = 0; chunk < 3; ++chunk) {
            const std::size_t n = data.size() - at == 0 ? 0 : rng() % (data.size() - at + 1);
            c.add(std::span(data).subspan(at, n));
            at += n;
        }
        c.add(std::span(data).subspan(at));
        EXPECT_EQ(c.finish(), expected);
    }
}

TEST(common_checksum, words_match_bytes) {
    internet_checksum words;
    words.add_u16(0x1234);
    words.add_u32(0x56789abcU);
    const std::array<std::uint8_t, 6> bytes{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
    EXPECT_EQ(words.finish(), checksum(bytes));
}

TEST(common_checksum, ipv4_header_ignores_the_stored_checksum) {
    // A known header (checksum b861).
    std::array<std::uint8_t, 20> header{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                        0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(ipv4_header_checksum(header), 0xb861);
    EXPECT_EQ(checksum(header), 0);  // verification over the stored value
    header[10] = 0;
    header[11] = 0;
    EXPECT_EQ(ipv4_header_checksum(header), 0xb861);
}

TEST(common_checksum, verification_of_a_stored_transport_checksum) {
    // A UDP datagram 10.0.0.1:5353 -> 10.0.0.10:53 carrying "\x12\x34query" (from Scapy).
    const auto datagram = *from_hex("14e90035000f748b12347175657279");
    const ip_address src = ipv4_address(10, 0, 0, 1);
    const ip_address dst = ipv4_address(10, 0, 0, 10);
    EXPECT_EQ(transport_checksum(src, dst, 17, datagram), 0);
    auto zeroed = datagram;
    zeroed[6] = 0;
    zeroed[7] = 0;
    EXPECT_EQ(transport_checksum(src, dst, 17, zeroed), 0x748b);
    EXPECT_NE(transport_checksum(dst, ipv4_address(10, 0, 0, 2), 17, datagram), 0);
}

}  // namespace
}  // namespace jitsu
