#pragma once
// DNS wire constants (RFC 1035 §4.1, RFC 6891) and the 12-byte header as a small value
// over bytes: big-endian accessors, no packed structs.
//
//                                 1  1  1  1  1  1
//   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
// |                      ID                       |
// |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
// |                    QDCOUNT                    |
// |                    ANCOUNT                    |
// |                    NSCOUNT                    |
// |                    ARCOUNT                    |
// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+

#include <cstddef>
#include <cstdint>

#include "common/detail/endian.h"

namespace jitsu::dns {

inline constexpr std::size_t header_size = 12;
inline constexpr std::size_t max_name_length = 255;  // wire octets, incl. the root label
inline constexpr std::size_t max_label_length = 63;
// A name of 255 octets has at most 127 non-root labels (each needs >= 2 octets).
inline constexpr std::size_t max_labels = 127;
inline constexpr std::size_t classic_udp_limit = 512;  // without EDNS (RFC 1035 §4.2.1)
inline constexpr std::size_t max_message_size = 65535;

namespace type {
inline constexpr std::uint16_t a = 1;
inline constexpr std::uint16_t ns = 2;
inline constexpr std::uint16_t soa = 6;
inline constexpr std::uint16_t aaaa = 28;
inline constexpr std::uint16_t opt = 41;
inline constexpr std::uint16_t ixfr = 251;
inline constexpr std::uint16_t axfr = 252;
inline constexpr std::uint16_t any = 255;
}  // namespace type

namespace qclass {
inline constexpr std::uint16_t in = 1;
inline constexpr std::uint16_t any = 255;
}  // namespace qclass

namespace rcode {
inline constexpr std::uint8_t noerror = 0;
inline constexpr std::uint8_t formerr = 1;
inline constexpr std::uint8_t servfail = 2;
inline constexpr std::uint8_t nxdomain = 3;
inline constexpr std::uint8_t notimp = 4;
inline constexpr std::uint8_t refused = 5;
// Extended (12-bit) rcode; its upper 8 bits travel in the OPT record's TTL.
inline constexpr std::uint16_t badvers = 16;
}  // namespace rcode

// Flag bits of the second 16-bit header word.
namespace flag {
inline constexpr std::uint16_t qr = 0x8000;
inline constexpr std::uint16_t opcode_mask = 0x7800;
inline constexpr std::uint16_t aa = 0x0400;
inline constexpr std::uint16_t tc = 0x0200;
inline constexpr std::uint16_t rd = 0x0100;
inline constexpr std::uint16_t ra = 0x0080;
inline constexpr std::uint16_t ad = 0x0020;
inline constexpr std::uint16_t cd = 0x0010;
inline constexpr std::uint16_t rcode_mask = 0x000f;
}  // namespace flag

// OPT TTL field: extended rcode (8) | version (8) | DO (1) | Z (15).
inline constexpr std::uint32_t edns_do_bit = 0x8000;

// Network byte order, from common/.
using jitsu::detail::load_be16;
using jitsu::detail::store_be16;
using jitsu::detail::store_be32;

// Read-only view of a header the caller has checked is >= header_size bytes.
class header_view {
  public:
    explicit constexpr header_view(const std::uint8_t* p) : p_(p) {}
    constexpr std::uint16_t id() const { return load_be16(p_); }
    constexpr std::uint16_t flags() const { return load_be16(p_ + 2); }
    constexpr bool qr() const { return (flags() & flag::qr) != 0; }
    constexpr bool tc() const { return (flags() & flag::tc) != 0; }
    constexpr std::uint8_t opcode() const { return (flags() & flag::opcode_mask) >> 11; }
    constexpr std::uint8_t rcode() const { return flags() & flag::rcode_mask; }
    constexpr std::uint16_t qdcount() const { return load_be16(p_ + 4); }
    constexpr std::uint16_t ancount() const { return load_be16(p_ + 6); }
    constexpr std::uint16_t nscount() const { return load_be16(p_ + 8); }
    constexpr std::uint16_t arcount() const { return load_be16(p_ + 10); }

  private:
    const std::uint8_t* p_;
};

// ASCII lowercase of one octet; DNS compares names case-insensitively in ASCII only
// (RFC 4343), other octets are kept as they are.
inline constexpr std::uint8_t lower_octet(std::uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + ('a' - 'A')) : c;
}

}  // namespace jitsu::dns
