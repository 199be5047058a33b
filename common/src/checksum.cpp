#include "common/checksum.h"

namespace jitsu {

void internet_checksum::add(std::span<const std::uint8_t> data) {
    std::size_t i = 0;
    if (odd_ && !data.empty()) {
        sum_ += data[0];  // low byte of the word begun by the previous chunk
        i = 1;
        odd_ = false;
    }
    // The 64-bit accumulator cannot overflow: it would take 2^48 words.
    for (; i + 1 < data.size(); i += 2) {
        sum_ += (std::uint32_t{data[i]} << 8) | data[i + 1];
    }
    if (i < data.size()) {
        sum_ += std::uint32_t{data[i]} << 8;
        odd_ = true;
    }
}

void internet_checksum::add_u16(std::uint16_t word) {
    const std::uint8_t bytes[2] = {static_cast<std::uint8_t>(word >> 8),
                                   static_cast<std::uint8_t>(word)};
    add(bytes);
}

void internet_checksum::add_u32(std::uint32_t value) {
    add_u16(static_cast<std::uint16_t>(value >> 16));
    add_u16(static_cast<std::uint16_t>(value));
}

std::uint16_t internet_checksum::sum() const {
    std::uint64_t s = sum_;
    while ((s >> 16) != 0) s = (s & 0xffff) + (s >> 16);
    return static_cast<std::uint16_t>(s);
}

std::uint16_t checksum(std::span<const std::uint8_t> data) {
    internet_checksum c;
    c.add(data);
    return c.finish();
}

std::uint16_t ipv4_header_checksum(std::span<const std::uint8_t> header) {
    internet_checksum c;
    if (header.size() < 12) {
        c.add(header);
        return c.finish();
    }
    c.add(header.first(10));
    c.add(header.subspan(12));
    return c.finish();
}

internet_checksum pseudo_header_sum(const ip_address& src, const ip_address& dst,
                                    std::uint8_t protocol, std::uint32_t length) {
    internet_checksum c;
    if (const auto* s4 = src.if_v4()) {
        c.add_u32(s4->to_uint());
        if (const auto* d4 = dst.if_v4()) c.add_u32(d4->to_uint());
        c.add_u16(protocol);
        c.add_u16(static_cast<std::uint16_t>(length));
    } else {
        c.add(src.v6().bytes());
        if (const auto* d6 = dst.if_v6()) c.add(d6->bytes());
        c.add_u32(length);
        c.add_u32(protocol);  // three zero bytes, then next header
    }
    return c;
}

std::uint16_t transport_checksum(const ip_address& src, const ip_address& dst,
                                 std::uint8_t protocol, std::span<const std::uint8_t> segment) {
    internet_checksum c =
        pseudo_header_sum(src, dst, protocol, static_cast<std::uint32_t>(segment.size()));
    c.add(segment);
    return c.finish();
}

}  // namespace jitsu
