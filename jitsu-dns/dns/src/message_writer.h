#pragma once
// Internal: a sticky, bounds-checked writer of DNS messages into a caller's buffer, with
// the few record shapes jitsu-dns emits. Once a write does not fit, every later one fails
// and the caller falls back to a truncated answer.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "jitsu_dns/query.h"
#include "jitsu_dns/wire.h"

namespace jitsu::dns::detail {

class message_writer {
  public:
    message_writer(std::span<std::uint8_t> out, std::size_t limit)
        : p_(out.data()), cap_(limit < out.size() ? limit : out.size()) {}

    bool ok() const { return ok_; }
    std::size_t size() const { return pos_; }
    std::uint8_t* data() { return p_; }

    void u8(std::uint8_t v) {
        if (fits(1)) p_[pos_++] = v;
    }
    void u16(std::uint16_t v) {
        if (fits(2)) {
            store_be16(p_ + pos_, v);
            pos_ += 2;
        }
    }
    void u32(std::uint32_t v) {
        if (fits(4)) {
            store_be32(p_ + pos_, v);
            pos_ += 4;
        }
    }
    void bytes(const std::uint8_t* b, std::size_t n) {
        if (fits(n)) {
            if (n != 0) std::memcpy(p_ + pos_, b, n);
            pos_ += n;
        }
    }
    // A compression pointer to an earlier offset (RFC 1035 §4.1.4).
    void pointer(std::size_t offset) { u16(static_cast<std::uint16_t>(0xc000 | offset)); }
    // Reserves room at the end (e.g. for OPT) by lowering the limit; `release` gives it back.
    void reserve(std::size_t n) { cap_ = cap_ >= n ? cap_ - n : 0; }
    void release(std::size_t n) { cap_ += n; }
    // Back to an earlier size (and healthy again): drops everything written after it.
    void rewind(std::size_t size) {
        pos_ = size;
        ok_ = true;
    }
    void patch16(std::size_t at, std::uint16_t v) { store_be16(p_ + at, v); }

    // Header with all counts zero; counts are patched by the caller.
    void header(std::uint16_t id, std::uint16_t flags) {
        u16(id);
        u16(flags);
        for (int i = 0; i < 4; ++i) u16(0);
    }
    // The question as the client sent it (original case, flat).
    void question(const query& q) {
        bytes(q.name.data(), q.name_length);
        u16(q.qtype);
        u16(q.qclass);
    }
    // OPT pseudo-record (RFC 6891 §6.1.2): root owner, our payload size in CLASS, the
    // extended rcode's upper bits, version 0 and the client's DO bit in TTL, no options.
    void opt(std::uint16_t payload, std::uint16_t extended_rcode, bool dnssec_ok) {
        u8(0);
        u16(type::opt);
        u16(payload);
        u32((static_cast<std::uint32_t>(extended_rcode >> 4) << 24) |
            (dnssec_ok ? edns_do_bit : 0));
        u16(0);
    }

  private:
    bool fits(std::size_t n) {
        if (ok_ && pos_ <= cap_ && n <= cap_ - pos_) return true;
        ok_ = false;
        return false;
    }

    std::uint8_t* p_;
    std::size_t cap_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

inline constexpr std::size_t opt_size = 11;
inline constexpr std::size_t ancount_at = 6, nscount_at = 8, arcount_at = 10;

}  // namespace jitsu::dns::detail
