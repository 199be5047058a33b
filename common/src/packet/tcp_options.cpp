#include "common/packet/tcp_options.h"

#include "common/byte_io.h"
#include "common/detail/endian.h"

namespace jitsu::packet {
namespace {

constexpr std::size_t max_option_space = 40;

// The only valid total length of the fixed-size kinds, 0 for variable/unknown kinds.
constexpr std::size_t fixed_length(std::uint8_t kind) {
    switch (kind) {
        case tcp_option_kind::mss:
            return 4;
        case tcp_option_kind::window_scale:
            return 3;
        case tcp_option_kind::sack_permitted:
            return 2;
        case tcp_option_kind::timestamp:
            return 10;
        default:
            return 0;
    }
}

}  // namespace

tcp_option tcp_option::make_sack(std::span<const sack_block> blocks) {
    tcp_option o;
    o.kind = tcp_option_kind::sack;
    for (const sack_block& b : blocks) {
        if (o.sack_count == max_sack_blocks) break;
        o.sack[o.sack_count++] = b;
    }
    return o;
}

std::size_t tcp_option::wire_size() const {
    switch (kind) {
        case tcp_option_kind::eol:
        case tcp_option_kind::nop:
            return 1;
        case tcp_option_kind::sack:
            return sack_count == 0 || sack_count > max_sack_blocks ? 0 : 2 + 8 * sack_count;
        default:
            if (const std::size_t n = fixed_length(kind)) return n;
            return data.size() > max_option_space - 2 ? 0 : 2 + data.size();
    }
}

std::optional<tcp_option> tcp_option_reader::next() {
    if (done_ || offset_ >= bytes_.size()) {
        done_ = true;
        return std::nullopt;
    }
    const std::uint8_t kind = bytes_[offset_];
    if (kind == tcp_option_kind::eol) {
        done_ = true;
        return std::nullopt;
    }
    tcp_option o;
    o.kind = kind;
    if (kind == tcp_option_kind::nop) {
        ++offset_;
        return o;
    }
    const std::size_t left = bytes_.size() - offset_;
    const std::size_t length = left >= 2 ? bytes_[offset_ + 1] : 0;
    const std::size_t fixed = fixed_length(kind);
    const bool bad_length =
        length < 2 || length > left || (fixed != 0 && length != fixed) ||
        (kind == tcp_option_kind::sack && (length < 10 || (length - 2) % 8 != 0));
    if (bad_length) {
        done_ = true;
        malformed_ = true;
        return std::nullopt;
    }
    const std::uint8_t* value = bytes_.data() + offset_ + 2;
    o.data = bytes_.subspan(offset_ + 2, length - 2);
    switch (kind) {
        case tcp_option_kind::mss:
            o.mss = detail::load_be16(value);
            break;
        case tcp_option_kind::window_scale:
            o.window_scale = value[0];
            break;
        case tcp_option_kind::timestamp:
            o.ts_value = detail::load_be32(value);
            o.ts_echo = detail::load_be32(value + 4);
            break;
        case tcp_option_kind::sack:
            // At most 4 blocks fit in 40 bytes, so this never exceeds the array.
            o.sack_count = static_cast<std::uint8_t>((length - 2) / 8);
            for (std::size_t i = 0; i < o.sack_count && i < tcp_option::max_sack_blocks; ++i) {
                o.sack[i] = {detail::load_be32(value + 8 * i),
                             detail::load_be32(value + 8 * i + 4)};
            }
            break;
        default:
            break;
    }
    offset_ += length;
    return o;
}

std::optional<std::size_t> write_tcp_options(std::span<std::uint8_t> out,
                                             std::span<const tcp_option> options) {
    std::size_t total = 0;
    for (const tcp_option& o : options) {
        const std::size_t n = o.wire_size();
        if (n == 0) return std::nullopt;
        total += n;
        if (total > max_option_space) return std::nullopt;
    }
    const std::size_t padded = (total + 3) / 4 * 4;
    if (padded > out.size()) return std::nullopt;

    byte_writer w(out);
    for (const tcp_option& o : options) {
        w.u8(o.kind);
        if (o.kind == tcp_option_kind::nop || o.kind == tcp_option_kind::eol) continue;
        w.u8(static_cast<std::uint8_t>(o.wire_size()));
        switch (o.kind) {
            case tcp_option_kind::mss:
                w.u16(o.mss);
                break;
            case tcp_option_kind::window_scale:
                w.u8(o.window_scale);
                break;
            case tcp_option_kind::sack_permitted:
                break;
            case tcp_option_kind::timestamp:
                w.u32(o.ts_value);
                w.u32(o.ts_echo);
                break;
            case tcp_option_kind::sack:
                for (std::size_t i = 0; i < o.sack_count; ++i) {
                    w.u32(o.sack[i].left);
                    w.u32(o.sack[i].right);
                }
                break;
            default:
                w.bytes(o.data);
                break;
        }
    }
    w.zeros(padded - total);
    if (w.failed()) return std::nullopt;
    return padded;
}

}  // namespace jitsu::packet
