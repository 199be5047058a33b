#pragma once
// TCP (RFC 9293).
//
//   0                16               32
//   |  source port   | destination port |
//   |          sequence number          |
//   |       acknowledgment number       |
//   |off|rsv|flags   |      window      |
//   |   checksum     |  urgent pointer  |
//   |     options (off > 5) ...         |

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/ip_address.h"
#include "common/packet/tcp_options.h"

namespace jitsu::packet {

namespace tcp_flags {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
inline constexpr std::uint8_t urg = 0x20;
inline constexpr std::uint8_t ece = 0x40;
inline constexpr std::uint8_t cwr = 0x80;
}  // namespace tcp_flags

class tcp_view {
  public:
    static constexpr std::size_t min_header_size = 20;
    static constexpr std::size_t max_header_size = 60;

    // nullopt unless 20 <= data offset * 4 <= segment size.
    static std::optional<tcp_view> parse(std::span<const std::uint8_t> segment);

    std::uint16_t src_port() const;
    std::uint16_t dst_port() const;
    std::uint32_t seq() const;
    std::uint32_t ack_number() const;
    std::size_t header_length() const { return header_length_; }
    std::uint8_t flags() const { return segment_[13]; }
    bool has_flags(std::uint8_t mask) const { return (flags() & mask) == mask; }
    bool syn() const { return has_flags(tcp_flags::syn); }
    bool ack() const { return has_flags(tcp_flags::ack); }
    bool rst() const { return has_flags(tcp_flags::rst); }
    bool fin() const { return has_flags(tcp_flags::fin); }
    bool psh() const { return has_flags(tcp_flags::psh); }
    bool urg() const { return has_flags(tcp_flags::urg); }
    bool ece() const { return has_flags(tcp_flags::ece); }
    bool cwr() const { return has_flags(tcp_flags::cwr); }
    // SYN without ACK: a connection request.
    bool is_syn_only() const { return syn() && !ack(); }
    std::uint16_t window() const;
    std::uint16_t checksum() const;
    std::uint16_t urgent_pointer() const;

    std::span<const std::uint8_t> raw_options() const;
    tcp_option_reader options() const { return tcp_option_reader(raw_options()); }
    std::span<const std::uint8_t> payload() const { return segment_.subspan(header_length_); }
    std::span<const std::uint8_t> bytes() const { return segment_; }

    // Checksum over the pseudo-header of src/dst (the IP layer's addresses).
    bool checksum_valid(const ip_address& src, const ip_address& dst) const;

  private:
    tcp_view(std::span<const std::uint8_t> segment, std::size_t header_length)
        : segment_(segment), header_length_(header_length) {}

    std::span<const std::uint8_t> segment_;
    std::size_t header_length_;
};

struct tcp_fields {
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;
    std::uint16_t window = 0;
    std::uint16_t urgent_pointer = 0;
};

// A whole segment (header, options padded with EOL, payload) with its checksum over
// the pseudo-header of src/dst. Returns its length, or 0 if `out` is too small, the
// options do not fit in 40 bytes, or src and dst are of different families.
std::size_t build_tcp_segment(std::span<std::uint8_t> out, const tcp_fields& fields,
                              std::span<const tcp_option> options,
                              std::span<const std::uint8_t> payload, const ip_address& src,
                              const ip_address& dst);

}  // namespace jitsu::packet
