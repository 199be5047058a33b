// The connection's input side: framing, pipelining, split requests, oversized lengths,
// back-pressure at the outstanding quota.
#include <gtest/gtest.h>

#include <cstring>

#include "harness.h"
#include "xenstored/request_stream.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::parse_messages;

class xenstored_stream : public ::testing::Test {
  protected:
    void feed(const std::vector<std::uint8_t>& bytes) {
        auto space = stream.read_space();
        ASSERT_GE(space.size(), bytes.size());
        std::memcpy(space.data(), bytes.data(), bytes.size());
        stream.commit(bytes.size());
    }
    std::vector<testing::message> output() {
        std::vector<std::uint8_t> out;
        s.take_output(out);
        s.output_written();
        return parse_messages(out);
    }

    core state;
    request_handler handler{state};
    session s{state, 0};
    request_stream stream{handler, s};
};

TEST_F(xenstored_stream, pipelined_requests_answered_in_order) {
    std::vector<std::uint8_t> bytes;
    for (std::uint32_t i = 1; i <= 5; ++i) {
        auto m = xenstore::make_message(XS_WRITE, i, 0, "/p" + std::to_string(i) + '\0' + "v");
        bytes.insert(bytes.end(), m.begin(), m.end());
    }
    auto r = xenstore::make_message(XS_READ, 6, 0, "/p3\0"s);
    bytes.insert(bytes.end(), r.begin(), r.end());
    feed(bytes);
    EXPECT_EQ(stream.process(), request_stream::status::idle);
    auto out = output();
    ASSERT_EQ(out.size(), 6u);
    for (std::uint32_t i = 0; i < 6; ++i) EXPECT_EQ(out[i].req_id, i + 1);
    EXPECT_EQ(out[5].payload, "v");
}

TEST_F(xenstored_stream, request_split_across_reads) {
    auto m = xenstore::make_message(XS_WRITE, 9, 0, "/split\0value"s);
    for (std::size_t i = 0; i < m.size(); ++i) {
        feed({m[i]});
        auto status = stream.process();
        EXPECT_EQ(status, request_stream::status::idle);
        if (i + 1 < m.size()) {
            EXPECT_FALSE(s.has_output()) << i;
        }
    }
    auto out = output();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, "OK\0"s);
    EXPECT_EQ(state.tree().find("/split")->value, "value");
}

TEST_F(xenstored_stream, oversized_length_closes) {
    xenstore::header h{XS_READ, 1, 0, static_cast<std::uint32_t>(xenstore::payload_max + 1)};
    std::vector<std::uint8_t> bytes(sizeof h);
    std::memcpy(bytes.data(), &h, sizeof h);
    feed(bytes);
    EXPECT_EQ(stream.process(), request_stream::status::close);
    // A maximal length is fine (and waits for its payload).
    session s2{state, 0};
    request_stream ok{handler, s2};
    h.len = static_cast<std::uint32_t>(xenstore::payload_max);
    auto space = ok.read_space();
    std::memcpy(space.data(), &h, sizeof h);
    ok.commit(sizeof h);
    EXPECT_EQ(ok.process(), request_stream::status::idle);
    EXPECT_EQ(ok.buffered(), sizeof h);
}

TEST_F(xenstored_stream, many_maximal_requests_fit) {
    // Requests of the maximal size, several per read, arriving in odd pieces.
    std::vector<std::uint8_t> all;
    for (std::uint32_t i = 1; i <= 12; ++i) {
        std::string payload = "/m\0"s + std::string(xenstore::payload_max - 3, 'x');
        auto m = xenstore::make_message(XS_WRITE, i, 0, payload);
        all.insert(all.end(), m.begin(), m.end());
    }
    std::size_t pos = 0, answered = 0;
    while (pos < all.size()) {
        auto space = stream.read_space();
        ASSERT_FALSE(space.empty());
        std::size_t n = std::min<std::size_t>({space.size(), all.size() - pos, 7001});
        std::memcpy(space.data(), all.data() + pos, n);
        stream.commit(n);
        pos += n;
        ASSERT_NE(stream.process(), request_stream::status::close);
        answered += output().size();
    }
    EXPECT_EQ(answered, 12u);
}

TEST_F(xenstored_stream, outstanding_quota_blocks_until_replies_are_read) {
    state.quotas().outstanding = 3;
    std::vector<std::uint8_t> bytes;
    for (std::uint32_t i = 1; i <= 5; ++i) {
        auto m = xenstore::make_message(XS_READ, i, 0, "/\0"s);
        bytes.insert(bytes.end(), m.begin(), m.end());
    }
    feed(bytes);
    EXPECT_EQ(stream.process(), request_stream::status::blocked);
    EXPECT_EQ(s.outstanding(), 3u);
    std::vector<std::uint8_t> out;
    s.take_output(out);  // being written: still outstanding
    EXPECT_EQ(stream.process(), request_stream::status::blocked);
    s.output_written();
    EXPECT_EQ(stream.process(), request_stream::status::idle);
    EXPECT_EQ(output().size(), 2u);
}

TEST_F(xenstored_stream, garbage_gets_errors_not_crashes) {
    std::vector<std::uint8_t> bytes;
    for (std::uint32_t type : {999u, 0xFFFFFFFFu, std::uint32_t{XS_ERROR}, 42u}) {
        auto m = xenstore::make_message(type, 1, 0, "\xff\xfe garbage");
        bytes.insert(bytes.end(), m.begin(), m.end());
    }
    feed(bytes);
    EXPECT_EQ(stream.process(), request_stream::status::idle);
    auto out = output();
    ASSERT_EQ(out.size(), 4u);
    for (auto& m : out) EXPECT_EQ(m.error(), "ENOSYS");
}

}  // namespace
}  // namespace jitsu::xenstored
