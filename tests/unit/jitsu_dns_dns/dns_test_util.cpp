#include "dns_test_util.h"

#include <arpa/inet.h>

#include "jitsu_dns/message_check.h"
#include "jitsu_dns/query.h"

namespace jitsu::dns::test {

bytes wire(const std::string& name) {
    bytes b;
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        b.push_back(static_cast<std::uint8_t>(dot - start));
        b.insert(b.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                 name.begin() + static_cast<std::ptrdiff_t>(dot));
        start = dot + 1;
    }
    b.push_back(0);
    return b;
}

void append(bytes& b, std::initializer_list<std::uint8_t> more) { b.insert(b.end(), more); }
void append16(bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

bytes header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an,
             std::uint16_t ns, std::uint16_t ar) {
    bytes b;
    for (std::uint16_t v : {id, flags, qd, an, ns, ar}) append16(b, v);
    return b;
}

void append_opt(bytes& b, std::uint16_t payload, std::uint8_t version, bool do_bit,
                const bytes& rdata) {
    b.push_back(0);
    append16(b, type::opt);
    append16(b, payload);
    b.push_back(0);  // extended rcode
    b.push_back(version);
    append16(b, do_bit ? 0x8000 : 0);
    append16(b, static_cast<std::uint16_t>(rdata.size()));
    b.insert(b.end(), rdata.begin(), rdata.end());
}

bytes make_query(const std::string& name, std::uint16_t qtype, std::uint16_t qclass,
                 const query_options& o) {
    bytes b = header(o.id, o.flags, 1, 0, 0, o.edns ? static_cast<std::uint16_t>(o.opt_count) : 0);
    bytes n = wire(name);
    b.insert(b.end(), n.begin(), n.end());
    append16(b, qtype);
    append16(b, qclass);
    if (o.edns)
        for (int i = 0; i < o.opt_count; ++i) append_opt(b, o.payload, o.version, o.dnssec_ok);
    return b;
}

namespace {

std::string name_text(std::span<const std::uint8_t> m, std::size_t at, std::size_t& end) {
    std::array<std::uint8_t, max_name_length> n{};
    std::array<std::uint8_t, max_labels> offsets{};
    std::uint8_t len = 0, labels = 0;
    if (!read_name(m, at, n, len, labels, offsets, end)) return "<bad>";
    std::string s;
    for (std::size_t i = 0; n[i] != 0; i += 1 + n[i]) {
        if (!s.empty()) s += '.';
        s.append(reinterpret_cast<const char*>(&n[i + 1]), n[i]);
    }
    return s;
}

std::uint32_t load32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}

}  // namespace

std::optional<decoded> decode(std::span<const std::uint8_t> m) {
    message_summary s;
    if (!check_message(m, s)) return std::nullopt;
    decoded d;
    d.id = s.id;
    d.flags = s.flags;
    d.rcode = s.flags & flag::rcode_mask;
    d.qdcount = s.qdcount;
    std::size_t pos = header_size;
    if (s.qdcount > 0) {
        std::size_t end = 0;
        d.qname = name_text(m, pos, end);
        d.qtype = load_be16(m.data() + end);
        d.qclass = load_be16(m.data() + end + 2);
        pos = end + 4;
        for (std::size_t i = 1; i < s.qdcount; ++i) {
            name_text(m, pos, end);
            pos = end + 4;
        }
    }
    auto read_section = [&](std::vector<record>& out, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            record r;
            std::size_t end = 0;
            r.name = name_text(m, pos, end);
            r.type = load_be16(m.data() + end);
            r.klass = load_be16(m.data() + end + 2);
            r.ttl = load32(m.data() + end + 4);
            std::size_t rdlength = load_be16(m.data() + end + 8);
            std::size_t rd = end + 10;
            r.rdata.assign(m.begin() + static_cast<std::ptrdiff_t>(rd),
                           m.begin() + static_cast<std::ptrdiff_t>(rd + rdlength));
            char text[INET6_ADDRSTRLEN] = {};
            if (r.type == type::a && rdlength == 4) {
                inet_ntop(AF_INET, r.rdata.data(), text, sizeof text);
                r.rdata_text = text;
            } else if (r.type == type::aaaa && rdlength == 16) {
                inet_ntop(AF_INET6, r.rdata.data(), text, sizeof text);
                r.rdata_text = text;
            } else if (r.type == type::ns) {
                std::size_t e = 0;
                r.rdata_text = name_text(m, rd, e);
            } else if (r.type == type::soa) {
                std::size_t e1 = 0, e2 = 0;
                std::string mname = name_text(m, rd, e1);
                std::string rname = name_text(m, e1, e2);
                r.rdata_text = mname;
                r.rdata_text += ' ';
                r.rdata_text += rname;
                for (std::size_t k = 0; k < 5 && e2 + 4 * k + 4 <= rd + rdlength; ++k) {
                    r.rdata_text += ' ';
                    r.rdata_text += std::to_string(load32(m.data() + e2 + 4 * k));
                }
            }
            out.push_back(std::move(r));
            pos = rd + rdlength;
        }
    };
    read_section(d.answer, s.ancount);
    read_section(d.authority, s.nscount);
    read_section(d.additional, s.arcount);
    return d;
}

}  // namespace jitsu::dns::test
