#pragma once
// IPv6 (RFC 8200): the fixed header and a bounded walk over extension headers to the
// upper-layer protocol.
//
//   0       4               12                              32
//   |ver| traffic class |           flow label               |
//   |        payload length         | next header | hop limit |
//   |                source address (16 bytes)               |
//   |             destination address (16 bytes)             |

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/ipv6_address.h"

namespace jitsu::packet {

class ipv6_view {
  public:
    static constexpr std::size_t header_size = 40;
    // Extension headers walked before giving up on finding the upper layer.
    static constexpr int max_extension_headers = 8;

    // nullopt unless: version 6, 40 + payload length <= buffer size. Jumbograms
    // (payload length 0 with a hop-by-hop jumbo option) are not supported: their payload
    // is empty. The extension-header walk never fails the parse; see l4_protocol().
    static std::optional<ipv6_view> parse(std::span<const std::uint8_t> bytes);

    std::uint8_t traffic_class() const;
    std::uint32_t flow_label() const;
    std::uint16_t payload_length() const {
        return static_cast<std::uint16_t>(packet_.size() - header_size);
    }
    // The first next-header value (the fixed header's).
    std::uint8_t next_header() const { return packet_[6]; }
    std::uint8_t hop_limit() const { return packet_[7]; }
    ipv6_address src() const;
    ipv6_address dst() const;

    // Everything after the fixed header, trimmed to payload length.
    std::span<const std::uint8_t> payload() const { return packet_.subspan(header_size); }
    // The upper-layer protocol after hop-by-hop, routing, destination-options and
    // fragment headers; nullopt when the chain is truncated, longer than
    // max_extension_headers, ends in "no next header", or the packet is a non-first
    // fragment.
    std::optional<std::uint8_t> l4_protocol() const;
    // The upper-layer header and data, when l4_protocol() has a value.
    std::optional<std::span<const std::uint8_t>> l4_payload() const;
    // A fragment header was seen in the chain.
    bool is_fragment() const { return fragment_; }
    // Header + payload.
    std::span<const std::uint8_t> bytes() const { return packet_; }

  private:
    explicit ipv6_view(std::span<const std::uint8_t> packet) : packet_(packet) {}
    void walk_extension_headers();

    std::span<const std::uint8_t> packet_;
    // Results of the walk done once in parse().
    std::size_t l4_offset_ = 0;
    std::uint8_t l4_protocol_ = 0;
    bool has_l4_ = false;
    bool fragment_ = false;
};

struct ipv6_fields {
    ipv6_address src{};
    ipv6_address dst{};
    std::uint8_t next_header = 0;
    std::uint8_t hop_limit = 64;
    std::uint8_t traffic_class = 0;
    std::uint32_t flow_label = 0;  // low 20 bits
};

// The 40-byte fixed header for `payload_length` bytes that follow. Returns 40, or 0 if
// `out` is too small or the payload length exceeds 65535.
std::size_t build_ipv6_header(std::span<std::uint8_t> out, const ipv6_fields& fields,
                              std::size_t payload_length);

}  // namespace jitsu::packet
