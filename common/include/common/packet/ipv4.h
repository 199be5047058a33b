#pragma once
// IPv4 (RFC 791).
//
//   0       4       8              16    19                     32
//   |ver|IHL|  TOS  |         total length                      |
//   |        identification       |flags|   fragment offset     |
//   |  TTL  | protocol |          header checksum               |
//   |                   source address                          |
//   |                 destination address                       |
//   |                 options (IHL > 5) ...                     |

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/ipv4_address.h"

namespace jitsu::packet {

class ipv4_view {
  public:
    static constexpr std::size_t min_header_size = 20;

    // nullopt unless: version 4, IHL >= 5, IHL*4 <= total length <= buffer size.
    // Bytes after total length (Ethernet padding) are not part of the packet.
    static std::optional<ipv4_view> parse(std::span<const std::uint8_t> bytes);

    std::size_t header_length() const { return header_length_; }
    std::uint16_t total_length() const { return static_cast<std::uint16_t>(packet_.size()); }
    std::uint8_t tos() const { return packet_[1]; }
    std::uint16_t identification() const;
    bool dont_fragment() const { return (packet_[6] & 0x40) != 0; }
    bool more_fragments() const { return (packet_[6] & 0x20) != 0; }
    // In 8-byte units, as on the wire.
    std::uint16_t fragment_offset() const;
    // Part of a fragmented datagram (first, middle or last fragment).
    bool is_fragment() const { return more_fragments() || fragment_offset() != 0; }
    std::uint8_t ttl() const { return packet_[8]; }
    std::uint8_t protocol() const { return packet_[9]; }
    std::uint16_t header_checksum() const;
    bool header_checksum_valid() const;
    ipv4_address src() const;
    ipv4_address dst() const;
    std::span<const std::uint8_t> options() const;

    // The payload, trimmed to total length.
    std::span<const std::uint8_t> payload() const { return packet_.subspan(header_length_); }
    // The payload when it starts with the upper-layer header: not for fragments after
    // the first, whose payload is the middle of some datagram.
    std::optional<std::span<const std::uint8_t>> l4_payload() const;
    // Header + payload (total_length bytes).
    std::span<const std::uint8_t> bytes() const { return packet_; }

  private:
    ipv4_view(std::span<const std::uint8_t> packet, std::size_t header_length)
        : packet_(packet), header_length_(header_length) {}

    std::span<const std::uint8_t> packet_;
    std::size_t header_length_;
};

struct ipv4_fields {
    ipv4_address src{};
    ipv4_address dst{};
    std::uint8_t protocol = 0;
    std::uint8_t ttl = 64;
    std::uint8_t tos = 0;
    std::uint16_t identification = 0;
    bool dont_fragment = false;
};

// A 20-byte header (no options) with its checksum, for a payload of `payload_length`
// bytes that the caller writes after it. Returns 20, or 0 if `out` is too small or the
// total length would exceed 65535.
std::size_t build_ipv4_header(std::span<std::uint8_t> out, const ipv4_fields& fields,
                              std::size_t payload_length);

}  // namespace jitsu::packet
