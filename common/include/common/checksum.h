#pragma once
// The Internet checksum (RFC 1071) — the one implementation used for IPv4 headers,
// TCP, UDP and ICMPv6, in parsing and in building.
//
// Convention: a checksum field is computed over the data with that field set to zero,
// and stores the returned value. Verification sums the data *including* the stored
// checksum; the data is intact iff that sum is 0xffff (finish() == 0).

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/ip_address.h"

namespace jitsu {

// An incremental one's-complement sum of big-endian 16-bit words. Chunks may have odd
// lengths: bytes pair up across add() calls as if the chunks were one buffer.
class internet_checksum {
  public:
    void add(std::span<const std::uint8_t> data);
    void add_u16(std::uint16_t word);
    void add_u32(std::uint32_t value);

    // The folded 16-bit one's-complement sum (not complemented).
    std::uint16_t sum() const;
    // The value to store in a checksum field: ~sum().
    std::uint16_t finish() const { return static_cast<std::uint16_t>(~sum()); }

  private:
    std::uint64_t sum_ = 0;
    bool odd_ = false;  // the last add() ended half-way through a 16-bit word
};

// ~sum over `data` in one go.
std::uint16_t checksum(std::span<const std::uint8_t> data);

// The IPv4 header checksum of `header` (its IHL*4 bytes), treating the checksum field
// (bytes 10-11) as zero, so this is the value to store whatever is there now.
std::uint16_t ipv4_header_checksum(std::span<const std::uint8_t> header);

// The sum of the TCP/UDP/ICMPv6 pseudo-header: IPv4 (RFC 793) or IPv6 (RFC 8200 §8.1)
// by the family of `src`; `dst` must be of the same family. `length` is the upper-layer
// length (header + payload).
internet_checksum pseudo_header_sum(const ip_address& src, const ip_address& dst,
                                    std::uint8_t protocol, std::uint32_t length);

// The checksum over pseudo-header + `segment`. When building, call it with the
// segment's checksum field zeroed and store the result (for UDP, store 0xffff when this
// returns 0: zero means "no checksum"). When verifying, a result of 0 means intact.
std::uint16_t transport_checksum(const ip_address& src, const ip_address& dst,
                                 std::uint8_t protocol, std::span<const std::uint8_t> segment);

}  // namespace jitsu
