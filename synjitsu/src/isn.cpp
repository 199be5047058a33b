#include "synjitsu/isn.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace jitsu::synjitsu {

namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct sip_state {
    std::uint64_t v0, v1, v2, v3;
    void round() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
};

std::uint64_t load_le64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// Appends the address in network order; returns the new length.
std::size_t put_ip(std::uint8_t* out, std::size_t n, const ip_address& ip) {
    if (const auto* v4 = ip.if_v4()) {
        for (auto b : v4->bytes()) out[n++] = b;
    } else {
        for (auto b : ip.v6().bytes()) out[n++] = b;
    }
    return n;
}

}  // namespace

isn_key random_isn_key() {
    isn_key key{};
    std::uint8_t bytes[16];
    std::size_t got = 0;
    while (got < sizeof bytes) {
        const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
        }
        got += static_cast<std::size_t>(n);
    }
    key[0] = load_le64(bytes);
    key[1] = load_le64(bytes + 8);
    return key;
}

std::uint64_t siphash24(const isn_key& key, const std::uint8_t* data, std::size_t size) {
    sip_state s{0x736f6d6570736575ULL ^ key[0], 0x646f72616e646f6dULL ^ key[1],
                0x6c7967656e657261ULL ^ key[0], 0x7465646279746573ULL ^ key[1]};
    const std::size_t whole = size - size % 8;
    for (std::size_t i = 0; i < whole; i += 8) {
        const std::uint64_t m = load_le64(data + i);
        s.v3 ^= m;
        s.round();
        s.round();
        s.v0 ^= m;
    }
    std::uint64_t last = static_cast<std::uint64_t>(size & 0xff) << 56;
    for (std::size_t i = 0; i < size % 8; ++i) {
        last |= static_cast<std::uint64_t>(data[whole + i]) << (8 * i);
    }
    s.v3 ^= last;
    s.round();
    s.round();
    s.v0 ^= last;
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

std::uint32_t pick_isn(const isn_key& key, const four_tuple& tuple) {
    std::uint8_t buf[2 * 16 + 4];
    std::size_t n = put_ip(buf, 0, tuple.local_ip);
    buf[n++] = static_cast<std::uint8_t>(tuple.local_port >> 8);
    buf[n++] = static_cast<std::uint8_t>(tuple.local_port);
    n = put_ip(buf, n, tuple.remote_ip);
    buf[n++] = static_cast<std::uint8_t>(tuple.remote_port >> 8);
    buf[n++] = static_cast<std::uint8_t>(tuple.remote_port);
    return static_cast<std::uint32_t>(siphash24(key, buf, n));
}

}  // namespace jitsu::synjitsu
