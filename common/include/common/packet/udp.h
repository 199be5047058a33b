#pragma once
// UDP (RFC 768): source port, destination port, length, checksum; then data.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/ip_address.h"

namespace jitsu::packet {

class udp_view {
  public:
    static constexpr std::size_t header_size = 8;

    // nullopt unless 8 <= length field <= datagram size; the view is trimmed to it.
    static std::optional<udp_view> parse(std::span<const std::uint8_t> datagram);

    std::uint16_t src_port() const;
    std::uint16_t dst_port() const;
    std::uint16_t length() const { return static_cast<std::uint16_t>(datagram_.size()); }
    std::uint16_t checksum() const;
    std::span<const std::uint8_t> payload() const { return datagram_.subspan(header_size); }
    std::span<const std::uint8_t> bytes() const { return datagram_; }

    // True if intact; over IPv4 a zero checksum means "not computed" and is accepted,
    // over IPv6 it is invalid (RFC 8200 §8.1).
    bool checksum_valid(const ip_address& src, const ip_address& dst) const;

  private:
    explicit udp_view(std::span<const std::uint8_t> datagram) : datagram_(datagram) {}

    std::span<const std::uint8_t> datagram_;
};

struct udp_fields {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
};

// Header + payload with the checksum over src/dst's pseudo-header. Returns the length,
// or 0 if `out` is too small, the datagram exceeds 65535 bytes, or the families differ.
std::size_t build_udp_datagram(std::span<std::uint8_t> out, const udp_fields& fields,
                               std::span<const std::uint8_t> payload, const ip_address& src,
                               const ip_address& dst);

}  // namespace jitsu::packet
