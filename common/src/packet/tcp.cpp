#include "common/packet/tcp.h"

#include "common/byte_io.h"
#include "common/checksum.h"
#include "common/detail/endian.h"
#include "common/packet/protocols.h"

namespace jitsu::packet {

std::optional<tcp_view> tcp_view::parse(std::span<const std::uint8_t> segment) {
    if (segment.size() < min_header_size) return std::nullopt;
    const std::size_t header_length = static_cast<std::size_t>(segment[12] >> 4) * 4;
    if (header_length < min_header_size || header_length > segment.size()) return std::nullopt;
    return tcp_view(segment, header_length);
}

std::uint16_t tcp_view::src_port() const { return detail::load_be16(segment_.data()); }
std::uint16_t tcp_view::dst_port() const { return detail::load_be16(segment_.data() + 2); }
std::uint32_t tcp_view::seq() const { return detail::load_be32(segment_.data() + 4); }
std::uint32_t tcp_view::ack_number() const { return detail::load_be32(segment_.data() + 8); }
std::uint16_t tcp_view::window() const { return detail::load_be16(segment_.data() + 14); }
std::uint16_t tcp_view::checksum() const { return detail::load_be16(segment_.data() + 16); }
std::uint16_t tcp_view::urgent_pointer() const { return detail::load_be16(segment_.data() + 18); }

std::span<const std::uint8_t> tcp_view::raw_options() const {
    return segment_.subspan(min_header_size, header_length_ - min_header_size);
}

bool tcp_view::checksum_valid(const ip_address& src, const ip_address& dst) const {
    if (src.is_v4() != dst.is_v4()) return false;
    return transport_checksum(src, dst, ip_protocol::tcp, segment_) == 0;
}

std::size_t build_tcp_segment(std::span<std::uint8_t> out, const tcp_fields& f,
                              std::span<const tcp_option> options,
                              std::span<const std::uint8_t> payload, const ip_address& src,
                              const ip_address& dst) {
    if (src.is_v4() != dst.is_v4() || out.size() < tcp_view::min_header_size) return 0;
    const auto options_length = write_tcp_options(out.subspan(tcp_view::min_header_size), options);
    if (!options_length) return 0;
    const std::size_t header_length = tcp_view::min_header_size + *options_length;

    byte_writer w(out);
    w.u16(f.src_port);
    w.u16(f.dst_port);
    w.u32(f.seq);
    w.u32(f.ack);
    w.u8(static_cast<std::uint8_t>((header_length / 4) << 4));
    w.u8(f.flags);
    w.u16(f.window);
    w.u16(0);  // checksum, filled in below
    w.u16(f.urgent_pointer);
    w.skip(*options_length);  // written above by write_tcp_options
    w.bytes(payload);
    if (w.failed()) return 0;
    detail::store_be16(out.data() + 16, transport_checksum(src, dst, ip_protocol::tcp, w.data()));
    return w.written();
}

}  // namespace jitsu::packet
