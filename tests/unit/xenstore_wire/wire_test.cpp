// Unit tests for the Xenstore wire codec (xenstore-proto/include/xenstore/wire.h).
#include "xenstore/wire.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace xs = jitsu::xenstore;
using namespace std::string_view_literals;

namespace {

std::span<const std::uint8_t> bytes_of(const std::vector<std::uint8_t>& v) { return {v}; }

std::string_view text_of(std::span<const std::uint8_t> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

std::vector<std::uint8_t> concat(const std::vector<std::vector<std::uint8_t>>& parts) {
    std::vector<std::uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Several pipelined messages of different shapes, as a socket would deliver them.
std::vector<std::vector<std::uint8_t>> sample_messages() {
    return {
        xs::message_builder(XS_READ, 1, 0).add_string("/local/domain/0/name").finish(),
        xs::message_builder(XS_WRITE, 2, 7).add_string("/a/b").add_raw("value").finish(),
        xs::make_message(XS_TRANSACTION_START, 3, 0, ""),  // empty payload
        xs::make_watch_event("/synjitsu/booting/10-0-0-10", "tok"),
        xs::make_error(4, 0, ENOENT),
        xs::make_message(XS_READ, 5, 0, std::string(xs::payload_max, 'x')),  // largest legal
        xs::message_builder(XS_DIRECTORY, 6, 0).add_string("/").finish(),
    };
}

xs::header header_with_len(std::uint32_t len) { return xs::header{XS_READ, 9, 0, len}; }

}  // namespace

// --- Header ---

TEST(xenstore_wire_header, encode_decode_round_trip) {
    const std::vector<xs::header> headers = {
        {XS_READ, 1, 0, 0},
        {XS_WRITE, 0xffffffffu, 0xfffffffeu, 4096},
        {XS_WATCH_EVENT, 0, 0, 12},
        {0xdeadbeefu, 0x01020304u, 0x05060708u, 0x090a0b0cu},
    };
    for (const auto& h : headers) {
        auto bytes = xs::encode_header(h);
        // Native-endian, the four fields in order, no padding: exactly the struct's bytes.
        EXPECT_EQ(0, std::memcmp(bytes.data(), &h, xs::header_size));
        auto back = xs::decode_header(bytes);
        EXPECT_EQ(back.type, h.type);
        EXPECT_EQ(back.req_id, h.req_id);
        EXPECT_EQ(back.tx_id, h.tx_id);
        EXPECT_EQ(back.len, h.len);
    }
}

TEST(xenstore_wire_header, type_names) {
    EXPECT_EQ(xs::type_name(XS_READ), "XS_READ");
    EXPECT_EQ(xs::type_name(XS_WATCH_EVENT), "XS_WATCH_EVENT");
    EXPECT_EQ(xs::type_name(XS_DIRECTORY_PART), "XS_DIRECTORY_PART");
    EXPECT_EQ(xs::type_name(XS_TYPE_COUNT), "XS_UNKNOWN");
    EXPECT_EQ(xs::type_name(0xffffffffu), "XS_UNKNOWN");
    for (std::uint32_t t = 0; t < XS_TYPE_COUNT; ++t) {
        EXPECT_EQ(xs::type_name(t).substr(0, 3), "XS_") << t;
    }
}

// --- Framing ---

TEST(xenstore_wire_frame, short_buffers_need_more) {
    auto msg = xs::make_message(XS_READ, 1, 0, "abc");
    for (std::size_t n = 0; n < msg.size(); ++n) {
        auto f = xs::parse_frame(bytes_of(msg).first(n));
        EXPECT_EQ(f.status, xs::frame_status::need_more) << n;
        EXPECT_EQ(f.consumed, 0u);
    }
    auto f = xs::parse_frame(bytes_of(msg));
    ASSERT_EQ(f.status, xs::frame_status::complete);
    EXPECT_EQ(f.consumed, msg.size());
    EXPECT_EQ(text_of(f.payload), "abc");
    EXPECT_EQ(f.hdr.type, static_cast<std::uint32_t>(XS_READ));
    EXPECT_EQ(f.hdr.req_id, 1u);
}

TEST(xenstore_wire_frame, every_split_point_of_a_pipelined_stream) {
    auto messages = sample_messages();
    auto stream = concat(messages);
    std::vector<std::size_t> ends;  // where each message ends in the stream
    std::size_t pos = 0;
    for (const auto& m : messages) ends.push_back(pos += m.size());

    for (std::size_t split = 0; split <= stream.size(); ++split) {
        // Only the first `split` bytes have arrived: every message wholly inside them
        // parses, in order; then need_more.
        auto received = bytes_of(stream).first(split);
        std::size_t off = 0;
        std::size_t parsed = 0;
        for (;;) {
            auto f = xs::parse_frame(received.subspan(off));
            ASSERT_NE(f.status, xs::frame_status::oversized) << split;
            if (f.status == xs::frame_status::need_more) break;
            ASSERT_LT(parsed, messages.size());
            ASSERT_EQ(f.consumed, messages[parsed].size()) << split;
            EXPECT_EQ(0, std::memcmp(received.data() + off, messages[parsed].data(), f.consumed));
            EXPECT_EQ(f.payload.size(), f.hdr.len);
            off += f.consumed;
            ++parsed;
        }
        std::size_t expected = 0;
        while (expected < ends.size() && ends[expected] <= split) ++expected;
        EXPECT_EQ(parsed, expected) << "split at " << split;
    }
}

TEST(xenstore_wire_frame, chunked_delivery_reassembles_every_message) {
    auto messages = sample_messages();
    auto stream = concat(messages);
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 15u, 16u, 17u, 100u, 4111u, 4112u, 5000u, 65536u}) {
        std::vector<std::uint8_t> buffer;
        std::vector<std::vector<std::uint8_t>> got;
        for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
            auto n = std::min(chunk, stream.size() - pos);
            buffer.insert(buffer.end(), stream.begin() + static_cast<std::ptrdiff_t>(pos),
                          stream.begin() + static_cast<std::ptrdiff_t>(pos + n));
            for (;;) {
                auto f = xs::parse_frame(buffer);
                ASSERT_NE(f.status, xs::frame_status::oversized);
                if (f.status != xs::frame_status::complete) break;
                got.emplace_back(buffer.begin(),
                                 buffer.begin() + static_cast<std::ptrdiff_t>(f.consumed));
                buffer.erase(buffer.begin(),
                             buffer.begin() + static_cast<std::ptrdiff_t>(f.consumed));
            }
        }
        EXPECT_TRUE(buffer.empty()) << chunk;
        EXPECT_EQ(got, messages) << "chunk " << chunk;
    }
}

TEST(xenstore_wire_frame, oversized_is_decided_from_the_header_alone) {
    for (std::uint32_t len :
         {static_cast<std::uint32_t>(xs::payload_max + 1), 65536u, 0x7fffffffu, 0xffffffffu}) {
        auto hdr = xs::encode_header(header_with_len(len));
        std::vector<std::uint8_t> bytes(hdr.begin(), hdr.end());
        auto f = xs::parse_frame(bytes);  // no payload byte received yet
        EXPECT_EQ(f.status, xs::frame_status::oversized) << len;
        EXPECT_EQ(f.consumed, 0u);
        EXPECT_EQ(f.hdr.len, len);
        // Fewer than 16 bytes: not decidable yet.
        EXPECT_EQ(xs::parse_frame(bytes_of(bytes).first(xs::header_size - 1)).status,
                  xs::frame_status::need_more);
    }
    // Exactly payload_max is legal: it waits for the payload.
    auto hdr = xs::encode_header(header_with_len(xs::payload_max));
    std::vector<std::uint8_t> bytes(hdr.begin(), hdr.end());
    EXPECT_EQ(xs::parse_frame(bytes).status, xs::frame_status::need_more);
    bytes.resize(xs::header_size + xs::payload_max, 'a');
    EXPECT_EQ(xs::parse_frame(bytes).status, xs::frame_status::complete);
}

TEST(xenstore_wire_frame, oversized_after_valid_messages) {
    auto good = xs::make_message(XS_READ, 1, 0, "ok");
    auto bad = xs::encode_header(header_with_len(0xffffffffu));
    auto stream = good;
    stream.insert(stream.end(), bad.begin(), bad.end());
    auto f = xs::parse_frame(stream);
    ASSERT_EQ(f.status, xs::frame_status::complete);
    EXPECT_EQ(xs::parse_frame(bytes_of(stream).subspan(f.consumed)).status,
              xs::frame_status::oversized);
}

// --- Payloads ---

TEST(xenstore_wire_payload, reader_reads_nul_terminated_strings) {
    xs::payload_reader r("a\0bc\0"sv);
    EXPECT_EQ(r.next_string(), "a");
    EXPECT_FALSE(r.empty());
    EXPECT_EQ(r.next_string(), "bc");
    EXPECT_TRUE(r.empty());
    EXPECT_EQ(r.next_string(), std::nullopt);
    EXPECT_EQ(r.rest(), "");
}

TEST(xenstore_wire_payload, reader_missing_nul_is_nullopt_and_consumes_nothing) {
    xs::payload_reader r("abc"sv);
    EXPECT_EQ(r.next_string(), std::nullopt);
    EXPECT_EQ(r.rest(), "abc");
    xs::payload_reader two("path\0tok"sv);
    EXPECT_EQ(two.next_string(), "path");
    EXPECT_EQ(two.next_string(), std::nullopt);
    EXPECT_EQ(two.rest(), "tok");
}

TEST(xenstore_wire_payload, reader_empty_strings_and_empty_payload) {
    xs::payload_reader r("\0\0"sv);
    EXPECT_EQ(r.next_string(), "");
    EXPECT_EQ(r.next_string(), "");
    EXPECT_EQ(r.next_string(), std::nullopt);
    EXPECT_TRUE(r.empty());

    xs::payload_reader none(""sv);
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(none.next_string(), std::nullopt);
    EXPECT_EQ(none.rest(), "");

    const std::uint8_t none_byte = 0;
    xs::payload_reader from_span(std::span<const std::uint8_t>(&none_byte, 0));
    EXPECT_TRUE(from_span.empty());
    EXPECT_EQ(from_span.next_string(), std::nullopt);
}

// A default-constructed span has a null data pointer: reading it must not touch it.
TEST(xenstore_wire_payload, reader_over_a_null_span) {
    xs::payload_reader r(std::span<const std::uint8_t>{});
    EXPECT_TRUE(r.empty());
    EXPECT_EQ(r.next_string(), std::nullopt);
}

TEST(xenstore_wire_payload, reader_trailing_data_is_rest) {
    // WRITE: <path>|<value> with the value unterminated (and possibly binary).
    xs::payload_reader w("/a/b\0val\0ue"sv);
    EXPECT_EQ(w.next_string(), "/a/b");
    EXPECT_EQ(w.rest(), "val\0ue"sv);
    // A single trailing NUL is kept in rest().
    xs::payload_reader t("/a\0v\0"sv);
    EXPECT_EQ(t.next_string(), "/a");
    EXPECT_EQ(t.rest(), "v\0"sv);
}

TEST(xenstore_wire_payload, reader_over_a_received_frame) {
    auto msg = xs::make_watch_event("/ip/10-0-0-10", "synjitsu");
    auto f = xs::parse_frame(msg);
    ASSERT_EQ(f.status, xs::frame_status::complete);
    EXPECT_EQ(f.hdr.req_id, xs::watch_event_req_id);
    xs::payload_reader r(f.payload);
    EXPECT_EQ(r.next_string(), "/ip/10-0-0-10");
    EXPECT_EQ(r.next_string(), "synjitsu");
    EXPECT_TRUE(r.empty());
}

TEST(xenstore_wire_payload, split_strings_cases) {
    using v = std::vector<std::string_view>;
    EXPECT_EQ(xs::split_strings(""sv), v{});
    EXPECT_EQ(xs::split_strings("a"sv), v{"a"});
    EXPECT_EQ(xs::split_strings("a\0"sv), v{"a"});
    EXPECT_EQ(xs::split_strings("a\0b"sv), (v{"a", "b"}));
    EXPECT_EQ(xs::split_strings("a\0b\0"sv), (v{"a", "b"}));
    EXPECT_EQ(xs::split_strings("\0"sv), v{""});
    EXPECT_EQ(xs::split_strings("a\0\0b\0"sv), (v{"a", "", "b"}));
    EXPECT_EQ(xs::split_strings("\0\0"sv), (v{"", ""}));
}

TEST(xenstore_wire_payload, builder_fills_len_and_payload) {
    xs::message_builder b(XS_WRITE, 42, 7);
    b.add_string("/p").add_raw("v\0x"sv);
    EXPECT_EQ(b.payload_size(), 6u);
    auto msg = b.finish();
    ASSERT_EQ(msg.size(), xs::header_size + 6);
    auto f = xs::parse_frame(msg);
    ASSERT_EQ(f.status, xs::frame_status::complete);
    EXPECT_EQ(f.hdr.type, static_cast<std::uint32_t>(XS_WRITE));
    EXPECT_EQ(f.hdr.req_id, 42u);
    EXPECT_EQ(f.hdr.tx_id, 7u);
    EXPECT_EQ(f.hdr.len, 6u);
    EXPECT_EQ(text_of(f.payload), "/p\0v\0x"sv);
}

TEST(xenstore_wire_payload, convenience_builders) {
    auto err = xs::make_error(5, 3, EAGAIN);
    auto f = xs::parse_frame(err);
    ASSERT_EQ(f.status, xs::frame_status::complete);
    EXPECT_EQ(f.hdr.type, static_cast<std::uint32_t>(XS_ERROR));
    EXPECT_EQ(f.hdr.req_id, 5u);
    EXPECT_EQ(f.hdr.tx_id, 3u);
    EXPECT_EQ(text_of(f.payload), "EAGAIN\0"sv);

    auto ev = xs::make_watch_event("/x", "t");
    f = xs::parse_frame(ev);
    ASSERT_EQ(f.status, xs::frame_status::complete);
    EXPECT_EQ(f.hdr.type, static_cast<std::uint32_t>(XS_WATCH_EVENT));
    EXPECT_EQ(f.hdr.req_id, 0u);
    EXPECT_EQ(f.hdr.tx_id, 0u);
    EXPECT_EQ(text_of(f.payload), "/x\0t\0"sv);

    auto m = xs::make_message(XS_READ, 1, 0, "abc");
    EXPECT_EQ(text_of(xs::parse_frame(m).payload), "abc");
}

// --- Errors ---

TEST(xenstore_wire_errors, every_xsd_errors_entry_round_trips) {
    std::size_t n = 0;
    for (const auto& e : xsd_errors) {
        EXPECT_EQ(xs::error_name(e.errnum), e.errstring);
        EXPECT_EQ(xs::error_number(e.errstring), e.errnum) << e.errstring;
        ++n;
    }
    EXPECT_GE(n, 16u);
    EXPECT_EQ(xs::error_name(ENOENT), "ENOENT");
    EXPECT_EQ(xs::error_number("EAGAIN"), EAGAIN);
    EXPECT_EQ(xs::error_number("E2BIG"), E2BIG);
}

TEST(xenstore_wire_errors, unknowns_map_to_einval) {
    for (int errnum : {0, -1, 9999, EXDEV, ETIMEDOUT}) {
        EXPECT_EQ(xs::error_name(errnum), "EINVAL") << errnum;
    }
    for (std::string_view name : {""sv, "EFOO"sv, "enoent"sv, "ENOENT "sv, "ENOENT\0"sv, "OK"sv}) {
        EXPECT_EQ(xs::error_number(name), EINVAL) << name;
    }
}

// --- Permissions ---

TEST(xenstore_wire_perms, parse_accepts_each_letter) {
    using xs::access;
    EXPECT_EQ(xs::parse_permission("n0"), (xs::permission{access::none, 0}));
    EXPECT_EQ(xs::parse_permission("r5"), (xs::permission{access::read, 5}));
    EXPECT_EQ(xs::parse_permission("w12"), (xs::permission{access::write, 12}));
    EXPECT_EQ(xs::parse_permission("b65535"), (xs::permission{access::both, 65535}));
}

TEST(xenstore_wire_perms, parse_rejects_malformed) {
    for (std::string_view s :
         {"x1"sv, "r"sv, "r-1"sv, "r99999"sv, "r1x"sv, ""sv, "R1"sv, " r1"sv, "r 1"sv, "r+1"sv,
          "r65536"sv, "rr1"sv, "1"sv, "r1\0"sv, "r4294967296"sv}) {
        EXPECT_EQ(xs::parse_permission(s), std::nullopt) << "accepted \"" << s << "\"";
    }
}

TEST(xenstore_wire_perms, format_round_trips) {
    using xs::access;
    for (auto a : {access::none, access::read, access::write, access::both}) {
        for (std::uint32_t domid : {0u, 1u, 7u, 32767u, 65535u}) {
            xs::permission p{a, domid};
            auto text = xs::format_permission(p);
            EXPECT_EQ(xs::parse_permission(text), p) << text;
        }
    }
    EXPECT_EQ(xs::format_permission({access::both, 0}), "b0");
    EXPECT_EQ(xs::format_permission({access::read, 5}), "r5");
}

// --- Robustness ---

TEST(xenstore_wire_fuzz, random_input_never_crashes) {
    std::mt19937 rng(20240611);  // fixed seed: reproducible
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 9000);
    std::size_t frames = 0;
    for (int round = 0; round < 3000; ++round) {
        std::vector<std::uint8_t> buf(length(rng));
        for (auto& b : buf) b = static_cast<std::uint8_t>(byte(rng));
        // Half the rounds: plant plausible headers so payload parsing gets exercised.
        if (round % 2 == 0) {
            for (std::size_t pos = 0; pos + xs::header_size <= buf.size();) {
                auto len = static_cast<std::uint32_t>(rng() % 300);
                auto hdr = xs::encode_header({static_cast<std::uint32_t>(rng() % 30),
                                              static_cast<std::uint32_t>(rng()), 0, len});
                std::memcpy(buf.data() + pos, hdr.data(), hdr.size());
                pos += xs::header_size + len;
            }
        }
        std::size_t off = 0;
        for (;;) {
            auto f = xs::parse_frame(std::span<const std::uint8_t>(buf).subspan(off));
            if (f.status != xs::frame_status::complete) break;
            ASSERT_GE(f.consumed, xs::header_size);
            ASSERT_LE(off + f.consumed, buf.size());
            ++frames;
            xs::payload_reader r(f.payload);
            while (auto s = r.next_string()) {
                (void)xs::parse_permission(*s);
                (void)xs::error_number(*s);
            }
            (void)r.rest();
            for (auto s : xs::split_strings(text_of(f.payload))) (void)xs::parse_permission(s);
            (void)xs::type_name(f.hdr.type);
            off += f.consumed;
        }
    }
    EXPECT_GT(frames, 1000u);  // the planted headers did produce frames
}
