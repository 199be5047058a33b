#pragma once
// TCP options (RFC 9293 §3.1, RFC 7323, RFC 2018): one value type for an option, a
// reader that walks the option bytes of a segment, and the writer the TCP builder uses.
//
// The reader yields options in wire order and stops at EOL or at the end of the bytes.
// A malformed list — a length byte missing, below 2 or past the end, or a known kind
// with the wrong length — stops the walk and sets malformed(); options before the fault
// have already been returned. This is stricter than "skip what you don't understand"
// because the SYN record replays the options into another TCP stack, which rejects
// such lists as a whole (Mirage's Options.unmarshal does).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace jitsu::packet {

namespace tcp_option_kind {
inline constexpr std::uint8_t eol = 0;
inline constexpr std::uint8_t nop = 1;
inline constexpr std::uint8_t mss = 2;
inline constexpr std::uint8_t window_scale = 3;
inline constexpr std::uint8_t sack_permitted = 4;
inline constexpr std::uint8_t sack = 5;
inline constexpr std::uint8_t timestamp = 8;
}  // namespace tcp_option_kind

struct sack_block {
    std::uint32_t left = 0;
    std::uint32_t right = 0;
    constexpr bool operator==(const sack_block&) const = default;
};

// One option. Only the fields of its kind are meaningful; `data` (the bytes after kind
// and length) is set for every option with a length byte and is what an unknown kind
// carries. It points into the segment (or, for built options, the caller's storage).
struct tcp_option {
    static constexpr std::size_t max_sack_blocks = 4;  // 2 + 4*8 = 34 <= 40 bytes

    std::uint8_t kind = tcp_option_kind::nop;
    std::uint16_t mss = 0;
    std::uint8_t window_scale = 0;
    std::uint32_t ts_value = 0;
    std::uint32_t ts_echo = 0;
    std::array<sack_block, max_sack_blocks> sack{};
    std::uint8_t sack_count = 0;
    std::span<const std::uint8_t> data;

    static constexpr tcp_option make_nop() { return {}; }
    static constexpr tcp_option make_mss(std::uint16_t value) {
        tcp_option o;
        o.kind = tcp_option_kind::mss;
        o.mss = value;
        return o;
    }
    static constexpr tcp_option make_window_scale(std::uint8_t shift) {
        tcp_option o;
        o.kind = tcp_option_kind::window_scale;
        o.window_scale = shift;
        return o;
    }
    static constexpr tcp_option make_sack_permitted() {
        tcp_option o;
        o.kind = tcp_option_kind::sack_permitted;
        return o;
    }
    static constexpr tcp_option make_timestamp(std::uint32_t value, std::uint32_t echo) {
        tcp_option o;
        o.kind = tcp_option_kind::timestamp;
        o.ts_value = value;
        o.ts_echo = echo;
        return o;
    }
    // Up to max_sack_blocks blocks; more are ignored.
    static tcp_option make_sack(std::span<const sack_block> blocks);
    // Any other kind with these bytes after kind and length (at most 38).
    static constexpr tcp_option make_unknown(std::uint8_t kind,
                                             std::span<const std::uint8_t> data) {
        tcp_option o;
        o.kind = kind;
        o.data = data;
        return o;
    }

    // Bytes on the wire (kind + length + value), 0 for an unencodable option.
    std::size_t wire_size() const;
};

class tcp_option_reader {
  public:
    explicit tcp_option_reader(std::span<const std::uint8_t> options) : bytes_(options) {}

    // The next option, or nullopt at EOL, at the end, or on a malformed option.
    std::optional<tcp_option> next();
    bool malformed() const { return malformed_; }

  private:
    std::span<const std::uint8_t> bytes_;
    std::size_t offset_ = 0;
    bool done_ = false;
    bool malformed_ = false;
};

// Writes `options` in order and pads with EOL bytes to a multiple of 4. Returns the
// padded length, or nullopt if they exceed `out` or the 40-byte option space (or an
// option cannot be encoded). An empty list writes nothing and returns 0.
std::optional<std::size_t> write_tcp_options(std::span<std::uint8_t> out,
                                             std::span<const tcp_option> options);

}  // namespace jitsu::packet
