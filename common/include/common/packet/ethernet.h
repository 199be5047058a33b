#pragma once
// Ethernet II frames, with at most one IEEE 802.1Q VLAN tag.
//
//   0               6              12      14       (16      18)
//   | destination   | source       | type  | [TCI   | type ] | payload ...
//
// With a tag, the first type is 0x8100 and the real ethertype follows the TCI.
// A second tag (QinQ) is not unwrapped: ethertype() is then 0x8100.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/mac_address.h"

namespace jitsu::packet {

class ethernet_view {
  public:
    static constexpr std::size_t header_size = 14;
    static constexpr std::size_t vlan_tag_size = 4;

    // nullopt if shorter than a header (or than the tag it announces).
    static std::optional<ethernet_view> parse(std::span<const std::uint8_t> frame);

    mac_address dst() const;
    mac_address src() const;
    // The ethertype of the payload (after the VLAN tag, if any).
    std::uint16_t ethertype() const;
    // Tag control information (PCP:3, DEI:1, VID:12) when tagged.
    std::optional<std::uint16_t> vlan_tci() const;
    std::optional<std::uint16_t> vlan_id() const;

    std::size_t header_length() const { return header_length_; }
    std::span<const std::uint8_t> payload() const { return frame_.subspan(header_length_); }
    std::span<const std::uint8_t> bytes() const { return frame_; }

  private:
    ethernet_view(std::span<const std::uint8_t> frame, std::size_t header_length)
        : frame_(frame), header_length_(header_length) {}

    std::span<const std::uint8_t> frame_;
    std::size_t header_length_;
};

// What a builder needs for the Ethernet header; the ethertype comes from the layer
// being built.
struct ethernet_fields {
    mac_address dst{};
    mac_address src{};
    std::optional<std::uint16_t> vlan_tci{};  // adds an 802.1Q tag when set
};

// Writes the header (14 bytes, 18 with a tag); returns its length or 0 if `out` is too
// small.
std::size_t build_ethernet_header(std::span<std::uint8_t> out, const ethernet_fields& fields,
                                  std::uint16_t ethertype);

}  // namespace jitsu::packet
