#pragma once
// Lowercase hex encoding (captured frames in Xenstore, logs, test vectors) and a strict
// decoder: even length, hex digits only (either case), nothing else.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jitsu {

// Writes 2 * in.size() characters; returns that, or 0 if `out` is too small (then
// nothing is written).
std::size_t hex_encode(std::span<const std::uint8_t> in, std::span<char> out);
std::string to_hex(std::span<const std::uint8_t> in);

// Decodes into `out`; returns the byte count, or nullopt if `text` is not strict hex or
// `out` is too small.
std::optional<std::size_t> hex_decode(std::string_view text, std::span<std::uint8_t> out);
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text);

}  // namespace jitsu
