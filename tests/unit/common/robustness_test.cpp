// Untrusted input: every valid test frame cut at every length, random bytes and mutated
// frames. Every input is copied into a buffer of exactly its size so that, under the
// ASan build, any read past the end is caught. Also: parse_frame never allocates.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "common/packet/frame.h"
#include "common/syn_record.h"
#include "test_support.h"

// Counts heap allocations so a test can assert that a code path makes none. Replacing
// the global operator new affects the whole test binary, which is harmless.
namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace jitsu::packet {
namespace {

using test::bytes;

// Reads every field of every layer found, the way a classifier would, and folds them
// into a number so nothing is optimised away.
std::uint64_t exercise(const parsed_frame& f) {
    std::uint64_t acc = f.ethernet.ethertype() + f.ethernet.payload().size();
    acc += f.ethernet.vlan_id().value_or(0) + f.ethernet.src().bytes()[5];
    if (f.arp) acc += f.arp->op() + f.arp->sender_ip().to_uint() + f.arp->target_mac().bytes()[0];
    if (f.ipv4) {
        acc += f.ipv4->src().to_uint() + f.ipv4->options().size() + f.ipv4->fragment_offset();
        acc += f.ipv4->header_checksum_valid() ? 1 : 0;
    }
    if (f.ipv6) {
        acc += f.ipv6->flow_label() + f.ipv6->dst().bytes()[15];
        acc += f.ipv6->l4_protocol().value_or(0) + f.ipv6->is_fragment();
    }
    const auto src = f.src_ip();
    const auto dst = f.dst_ip();
    if (f.tcp) {
        acc += f.tcp->seq() + f.tcp->flags() + f.tcp->payload().size();
        auto reader = f.tcp->options();
        while (const auto o = reader.next()) acc += o->kind + o->data.size() + o->sack_count;
        acc += reader.malformed();
        char sexp[max_tcp_options_sexp_length];
        const std::size_t n = write_tcp_options_sexp(f.tcp->raw_options(), sexp);
        EXPECT_TRUE(n > 0 || reader.malformed());
        acc += n;
        if (src && dst) acc += f.tcp->checksum_valid(*src, *dst);
    }
    if (f.udp) {
        acc += f.udp->length() + f.udp->payload().size();
        if (src && dst) acc += f.udp->checksum_valid(*src, *dst);
    }
    if (f.icmpv6) acc += f.icmpv6->type() + f.icmpv6->checksum_valid(src->v6(), dst->v6());
    if (f.ndp) {
        acc += f.ndp->target().bytes()[0] + f.ndp->override_flag();
        if (auto m = f.ndp->source_link_layer()) acc += m->bytes()[0];
        if (auto m = f.ndp->target_link_layer()) acc += m->bytes()[0];
    }
    return acc;
}

// A layer found in a prefix of a frame must be the same layer as in the whole frame:
// truncation may remove layers, never invent or alter them.
void expect_consistent(const parsed_frame& part, const parsed_frame& whole,
                       const std::string& where) {
    auto same = [](std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    };
    EXPECT_EQ(part.ethernet.dst(), whole.ethernet.dst()) << where;
    EXPECT_EQ(part.ethernet.ethertype(), whole.ethernet.ethertype()) << where;
    if (part.arp) {
        ASSERT_TRUE(whole.arp) << where;
        EXPECT_EQ(part.arp->target_ip(), whole.arp->target_ip()) << where;
    }
    if (part.ipv4) {
        ASSERT_TRUE(whole.ipv4) << where;
        EXPECT_TRUE(same(part.ipv4->bytes(), whole.ipv4->bytes())) << where;
    }
    if (part.ipv6) {
        ASSERT_TRUE(whole.ipv6) << where;
        EXPECT_TRUE(same(part.ipv6->bytes(), whole.ipv6->bytes())) << where;
    }
    if (part.tcp) {
        ASSERT_TRUE(whole.tcp) << where;
        EXPECT_TRUE(same(part.tcp->bytes(), whole.tcp->bytes())) << where;
    }
    if (part.udp) {
        ASSERT_TRUE(whole.udp) << where;
        EXPECT_TRUE(same(part.udp->bytes(), whole.udp->bytes())) << where;
    }
    if (part.icmpv6) {
        ASSERT_TRUE(whole.icmpv6) << where;
        EXPECT_TRUE(same(part.icmpv6->bytes(), whole.icmpv6->bytes())) << where;
    }
    EXPECT_EQ(part.ndp.has_value(), part.ndp && whole.ndp) << where;
}

TEST(common_robustness, every_truncation_of_every_frame) {
    std::uint64_t sink = 0;
    for (const auto& v : test::scapy_vectors()) {
        const auto whole = parse_frame(v.frame);
        ASSERT_TRUE(whole) << v.name;
        for (std::size_t len = 0; len < v.frame.size(); ++len) {
            // Exactly `len` bytes on the heap: ASan flags a read of byte `len`.
            const bytes cut(v.frame.begin(), v.frame.begin() + static_cast<long>(len));
            const auto part = parse_frame(cut);
            if (len < 14) {
                EXPECT_FALSE(part) << v.name << " cut to " << len;
                continue;
            }
            const bool tagged = whole->ethernet.vlan_tci().has_value();
            if (tagged && len < 18) {
                EXPECT_FALSE(part) << v.name << " cut to " << len;
                continue;
            }
            ASSERT_TRUE(part) << v.name << " cut to " << len;
            expect_consistent(*part, *whole, v.name + " cut to " + std::to_string(len));
            sink += exercise(*part);
        }
    }
    EXPECT_NE(sink, 0u);
}

// Each view on every prefix of its own layer's bytes (not only via parse_frame, whose
// outer layers reject most truncations before the inner parser sees them).
TEST(common_robustness, every_truncation_of_every_layer) {
    std::uint64_t sink = 0;
    for (const auto& v : test::scapy_vectors()) {
        const auto whole = parse_frame(v.frame);
        ASSERT_TRUE(whole);
        std::vector<std::span<const std::uint8_t>> layers{whole->ethernet.payload()};
        if (whole->ipv4) layers.push_back(whole->ipv4->payload());
        if (whole->ipv6) layers.push_back(whole->ipv6->payload());
        if (whole->tcp) layers.push_back(whole->tcp->bytes());
        if (whole->tcp) layers.push_back(whole->tcp->raw_options());
        if (whole->udp) layers.push_back(whole->udp->bytes());
        if (whole->icmpv6) layers.push_back(whole->icmpv6->bytes());
        for (const auto layer : layers) {
            for (std::size_t len = 0; len <= layer.size(); ++len) {
                const bytes cut(layer.begin(), layer.begin() + static_cast<long>(len));
                if (auto a = arp_view::parse(cut)) sink += a->op();
                if (auto ip = ipv4_view::parse(cut)) sink += ip->payload().size();
                if (auto ip = ipv6_view::parse(cut)) {
                    sink += ip->l4_payload() ? ip->l4_payload()->size() : 0;
                }
                if (auto t = tcp_view::parse(cut)) {
                    auto r = t->options();
                    while (auto o = r.next()) sink += o->kind;
                }
                tcp_option_reader raw(cut);
                while (auto o = raw.next()) sink += o->data.size();
                sink += tcp_options_sexp(cut).has_value();
                if (auto u = udp_view::parse(cut)) sink += u->length();
                if (auto i = icmpv6_view::parse(cut)) {
                    if (auto n = ndp_view::parse(*i)) {
                        sink +=
                            n->source_link_layer().has_value() + n->target_link_layer().has_value();
                    }
                }
            }
        }
    }
    EXPECT_NE(sink, 0u);
}

TEST(common_robustness, random_and_mutated_frames) {
    std::mt19937_64 rng(20240101);
    const auto& vectors = test::scapy_vectors();
    const std::uint16_t ethertypes[] = {0x0800, 0x86dd, 0x0806, 0x8100};
    const std::uint8_t protocols[] = {6, 17, 58, 0, 43, 44, 60, 59};
    std::uint64_t sink = 0;
    long frames_with_l4 = 0;
    constexpr int iterations = 100000;
    for (int i = 0; i < iterations; ++i) {
        bytes frame;
        if (i % 2 == 0) {
            // A valid frame with a few bytes changed and maybe cut short.
            frame = vectors[rng() % vectors.size()].frame;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k) {
                frame[rng() % frame.size()] = static_cast<std::uint8_t>(rng());
            }
            if (rng() % 4 == 0) frame.resize(rng() % (frame.size() + 1));
        } else {
            // Random bytes behind a plausible ethertype / protocol, to reach deep layers.
            frame.resize(rng() % 160);
            for (auto& b : frame) b = static_cast<std::uint8_t>(rng());
            if (frame.size() >= 14) {
                const std::uint16_t type = ethertypes[rng() % 4];
                frame[12] = static_cast<std::uint8_t>(type >> 8);
                frame[13] = static_cast<std::uint8_t>(type);
            }
            if (frame.size() >= 34 && frame[12] == 0x08 && frame[13] == 0x00) {
                frame[14] = 0x45;
                frame[23] = protocols[rng() % 3];
                const auto total = static_cast<std::uint16_t>(frame.size() - 14 - rng() % 4);
                frame[16] = static_cast<std::uint8_t>(total >> 8);
                frame[17] = static_cast<std::uint8_t>(total);
            }
            if (frame.size() >= 54 && frame[12] == 0x86 && frame[13] == 0xdd) {
                frame[14] = 0x60;
                frame[20] = protocols[rng() % 8];
                const auto payload = static_cast<std::uint16_t>(frame.size() - 54 - rng() % 4);
                frame[18] = static_cast<std::uint8_t>(payload >> 8);
                frame[19] = static_cast<std::uint8_t>(payload);
            }
        }
        const bytes exact(frame.begin(), frame.end());  // capacity == size
        if (const auto f = parse_frame(exact)) {
            sink += exercise(*f);
            frames_with_l4 += (f->tcp || f->udp || f->icmpv6) ? 1 : 0;
        }
    }
    EXPECT_NE(sink, 0u);
    // The generator must actually reach the upper layers for this test to mean much.
    EXPECT_GT(frames_with_l4, iterations / 10);
}

TEST(common_robustness, parse_frame_does_not_allocate) {
    std::uint64_t sink = 0;
    const auto& vectors = test::scapy_vectors();  // loading the file allocates; do it first
    const long before = allocations.load();
    for (int round = 0; round < 10; ++round) {
        for (const auto& v : vectors) {
            if (auto f = parse_frame(v.frame)) {
                sink += exercise(*f);
            }
        }
    }
    EXPECT_EQ(allocations.load(), before);
    EXPECT_NE(sink, 0u);
}

}  // namespace
}  // namespace jitsu::packet
