#include "jitsu_dns/message_check.h"

#include "jitsu_dns/query.h"
#include "jitsu_dns/wire.h"

namespace jitsu::dns {

bool check_message(std::span<const std::uint8_t> m, message_summary& s) noexcept {
    if (m.size() < header_size) return false;
    header_view h(m.data());
    s = {h.id(), h.flags(), h.qdcount(), h.ancount(), h.nscount(), h.arcount()};
    std::array<std::uint8_t, max_name_length> name{};
    std::array<std::uint8_t, max_labels> offsets{};
    std::uint8_t length = 0, labels = 0;
    std::size_t pos = header_size;
    for (std::size_t i = 0; i < s.qdcount; ++i) {
        std::size_t end = 0;
        if (!read_name(m, pos, name, length, labels, offsets, end) || m.size() - end < 4)
            return false;
        pos = end + 4;
    }
    std::size_t records = std::size_t{s.ancount} + s.nscount + s.arcount;
    for (std::size_t i = 0; i < records; ++i) {
        std::size_t end = 0;
        if (!read_name(m, pos, name, length, labels, offsets, end) || m.size() - end < 10)
            return false;
        std::size_t rdlength = load_be16(m.data() + end + 8);
        pos = end + 10;
        if (m.size() - pos < rdlength) return false;
        pos += rdlength;
    }
    return pos == m.size();
}

}  // namespace jitsu::dns
