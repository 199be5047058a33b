#pragma once
// Bounds-checked big-endian cursor over a byte span, for untrusted input (byte_reader)
// and for output into a caller's buffer (byte_writer).
//
// Both are sticky: once an operation does not fit, the object is failed() and every
// later operation fails too, so a sequence of reads can be checked once at the end.
// Nothing is ever read or written past the span; a failed write writes nothing.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace jitsu {

class byte_reader {
  public:
    constexpr explicit byte_reader(std::span<const std::uint8_t> data) : data_(data) {}

    std::optional<std::uint8_t> u8();
    std::optional<std::uint16_t> u16();
    std::optional<std::uint32_t> u32();
    // A view of the next n bytes (no copy).
    std::optional<std::span<const std::uint8_t>> bytes(std::size_t n);
    bool skip(std::size_t n);

    constexpr std::size_t offset() const { return offset_; }
    constexpr std::size_t remaining() const { return failed_ ? 0 : data_.size() - offset_; }
    constexpr std::span<const std::uint8_t> rest() const {
        return failed_ ? std::span<const std::uint8_t>{} : data_.subspan(offset_);
    }
    constexpr bool failed() const { return failed_; }

  private:
    // Claims n bytes: true and their start offset, or false (and failed) if not there.
    bool take(std::size_t n, std::size_t& start);

    std::span<const std::uint8_t> data_;
    std::size_t offset_ = 0;
    bool failed_ = false;
};

class byte_writer {
  public:
    constexpr explicit byte_writer(std::span<std::uint8_t> out) : out_(out) {}

    bool u8(std::uint8_t v);
    bool u16(std::uint16_t v);
    bool u32(std::uint32_t v);
    bool bytes(std::span<const std::uint8_t> v);
    bool zeros(std::size_t n);
    // Advances over n bytes without touching them, for a part the caller fills in
    // separately (a nested builder, a checksum computed later).
    bool skip(std::size_t n);

    constexpr std::size_t written() const { return offset_; }
    constexpr std::size_t remaining() const { return failed_ ? 0 : out_.size() - offset_; }
    constexpr bool failed() const { return failed_; }
    // The bytes written so far.
    constexpr std::span<std::uint8_t> data() const { return out_.first(offset_); }

  private:
    bool take(std::size_t n, std::size_t& start);

    std::span<std::uint8_t> out_;
    std::size_t offset_ = 0;
    bool failed_ = false;
};

}  // namespace jitsu
