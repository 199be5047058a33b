#include "common/byte_io.h"

#include <cstring>

#include "common/detail/endian.h"

namespace jitsu {

bool byte_reader::take(std::size_t n, std::size_t& start) {
    // Compare against what is left rather than offset_ + n, which could wrap.
    if (failed_ || n > data_.size() - offset_) {
        failed_ = true;
        return false;
    }
    start = offset_;
    offset_ += n;
    return true;
}

std::optional<std::uint8_t> byte_reader::u8() {
    std::size_t at = 0;
    if (!take(1, at)) return std::nullopt;
    return data_[at];
}

std::optional<std::uint16_t> byte_reader::u16() {
    std::size_t at = 0;
    if (!take(2, at)) return std::nullopt;
    return detail::load_be16(data_.data() + at);
}

std::optional<std::uint32_t> byte_reader::u32() {
    std::size_t at = 0;
    if (!take(4, at)) return std::nullopt;
    return detail::load_be32(data_.data() + at);
}

std::optional<std::span<const std::uint8_t>> byte_reader::bytes(std::size_t n) {
    std::size_t at = 0;
    if (!take(n, at)) return std::nullopt;
    return data_.subspan(at, n);
}

bool byte_reader::skip(std::size_t n) {
    std::size_t at = 0;
    return take(n, at);
}

bool byte_writer::take(std::size_t n, std::size_t& start) {
    if (failed_ || n > out_.size() - offset_) {
        failed_ = true;
        return false;
    }
    start = offset_;
    offset_ += n;
    return true;
}

bool byte_writer::u8(std::uint8_t v) {
    std::size_t at = 0;
    if (!take(1, at)) return false;
    out_[at] = v;
    return true;
}

bool byte_writer::u16(std::uint16_t v) {
    std::size_t at = 0;
    if (!take(2, at)) return false;
    detail::store_be16(out_.data() + at, v);
    return true;
}

bool byte_writer::u32(std::uint32_t v) {
    std::size_t at = 0;
    if (!take(4, at)) return false;
    detail::store_be32(out_.data() + at, v);
    return true;
}

bool byte_writer::bytes(std::span<const std::uint8_t> v) {
    std::size_t at = 0;
    if (!take(v.size(), at)) return false;
    if (!v.empty()) std::memcpy(out_.data() + at, v.data(), v.size());
    return true;
}

bool byte_writer::zeros(std::size_t n) {
    std::size_t at = 0;
    if (!take(n, at)) return false;
    if (n != 0) std::memset(out_.data() + at, 0, n);
    return true;
}

bool byte_writer::skip(std::size_t n) {
    std::size_t at = 0;
    return take(n, at);
}

}  // namespace jitsu
