// Compiling an authority_config into lookup tables, and writing authoritative answers.
#include "jitsu_dns/compiled_authority.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "message_writer.h"

namespace jitsu::dns {
namespace {

using wire_name = std::array<std::uint8_t, max_name_length>;

// FNV-1a: names are short, so a simple byte hash is as fast as anything fancier.
std::uint32_t hash_name(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint32_t h = 2166136261U;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619U;
    return h;
}

std::string as_key(const std::uint8_t* p, std::size_t n) {
    return std::string(reinterpret_cast<const char*>(p), n);
}

wire_name to_wire_or_throw(std::string_view text, std::size_t& length, std::string_view what) {
    wire_name w{};
    length = name_to_wire(text, w);
    if (length == 0)
        throw std::invalid_argument(std::string(what) + ": invalid DNS name '" + std::string(text) +
                                    "'");
    return w;
}

// Offsets of the suffixes of a wire name, longest first, ending with the root label.
std::vector<std::size_t> suffixes(const std::uint8_t* w, std::size_t n) {
    std::vector<std::size_t> out;
    for (std::size_t at = 0; at < n;) {
        out.push_back(at);
        if (w[at] == 0) break;
        at += 1 + w[at];
    }
    return out;
}

bool ends_with(const std::uint8_t* w, std::size_t n, const std::uint8_t* suffix, std::size_t m) {
    // Compare only at label boundaries, or "xexample.org" would match "example.org".
    for (std::size_t at : suffixes(w, n))
        if (n - at == m && std::memcmp(w + at, suffix, m) == 0) return true;
    return false;
}

}  // namespace

std::size_t name_to_wire(std::string_view text, wire_name& out) {
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
    std::size_t pos = 0;
    if (!text.empty()) {
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t dot = text.find('.', start);
            if (dot == std::string_view::npos) dot = text.size();
            std::size_t len = dot - start;
            if (len == 0 || len > max_label_length || pos + 1 + len + 1 > max_name_length) return 0;
            out[pos++] = static_cast<std::uint8_t>(len);
            for (std::size_t i = 0; i < len; ++i)
                out[pos++] = lower_octet(static_cast<std::uint8_t>(text[start + i]));
            start = dot + 1;
        }
    }
    out[pos++] = 0;
    return pos;
}

compiled_authority::compiled_authority(const authority_config& config, std::uint16_t max_udp)
    : max_udp_(std::max<std::uint16_t>(max_udp, classic_udp_limit)) {
    std::unordered_map<std::string, std::uint32_t> index;
    auto add = [&](const std::uint8_t* w, std::size_t n, std::uint16_t zone) -> node& {
        auto [it, inserted] =
            index.emplace(as_key(w, n), static_cast<std::uint32_t>(nodes_.size()));
        if (inserted) {
            node fresh;
            fresh.name_at = static_cast<std::uint32_t>(names_.size());
            fresh.name_length = static_cast<std::uint8_t>(n);
            fresh.hash = hash_name(w, n);
            fresh.zone = zone;
            names_.insert(names_.end(), w, w + n);
            nodes_.push_back(fresh);
        }
        return nodes_[it->second];
    };
    if (config.zones.size() > 0xffff) throw std::invalid_argument("authority: too many zones");

    // Zone apexes first: every other name is placed in its deepest enclosing zone.
    std::vector<wire_name> apex_wire(config.zones.size());
    std::vector<std::size_t> apex_len(config.zones.size());
    for (std::size_t z = 0; z < config.zones.size(); ++z) {
        const zone_config& zc = config.zones[z];
        apex_wire[z] = to_wire_or_throw(zc.origin, apex_len[z], "zone");
        if (index.count(as_key(apex_wire[z].data(), apex_len[z])) != 0)
            throw std::invalid_argument("zone '" + zc.origin + "' is listed twice");
        node& n = add(apex_wire[z].data(), apex_len[z], static_cast<std::uint16_t>(z));
        n.apex = true;
        zone zd;
        zd.apex = static_cast<std::uint32_t>(nodes_.size() - 1);
        zd.apex_length = static_cast<std::uint8_t>(apex_len[z]);
        zd.ttl = zc.ttl;
        zd.negative_ttl = std::min(zc.ttl, zc.minimum);
        std::uint32_t numbers[5] = {zc.serial, zc.refresh, zc.retry, zc.expire, zc.minimum};
        for (int i = 0; i < 5; ++i) store_be32(zd.soa_numbers.data() + 4 * i, numbers[i]);
        zones_.push_back(std::move(zd));
    }
    auto zone_of = [&](const wire_name& w, std::size_t n) -> std::int64_t {
        for (std::size_t at : suffixes(w.data(), n))
            for (std::size_t z = 0; z < zones_.size(); ++z)
                if (apex_len[z] == n - at &&
                    std::memcmp(w.data() + at, apex_wire[z].data(), n - at) == 0)
                    return static_cast<std::int64_t>(z);
        return -1;
    };
    auto rdata = [&](std::string_view text, std::size_t z, std::string_view what) {
        std::size_t n = 0;
        wire_name w = to_wire_or_throw(text, n, what);
        rdata_name r;
        std::size_t al = apex_len[z];
        r.under_apex = ends_with(w.data(), n, apex_wire[z].data(), al);
        r.wire.assign(w.begin(),
                      w.begin() + static_cast<std::ptrdiff_t>(r.under_apex ? n - al : n));
        return r;
    };
    auto check_count = [](std::size_t n) {
        if (n > 0xffff) throw std::invalid_argument("authority: too many addresses");
    };

    for (std::size_t z = 0; z < config.zones.size(); ++z) {
        const zone_config& zc = config.zones[z];
        zones_[z].mname = rdata(zc.primary_ns, z, "zone " + zc.origin + " primary_ns");
        zones_[z].rname = rdata(zc.mailbox, z, "zone " + zc.origin + " mailbox");
        if (zc.ns_ipv4.empty() && zc.ns_ipv6.empty()) continue;
        std::size_t n = 0;
        wire_name w = to_wire_or_throw(zc.primary_ns, n, "primary_ns");
        std::int64_t in_zone = zone_of(w, n);
        if (in_zone != static_cast<std::int64_t>(z)) continue;  // not ours: no glue
        node& ns = add(w.data(), n, static_cast<std::uint16_t>(z));
        if (ns.v4_count != 0 || ns.v6_count != 0)
            throw std::invalid_argument("name server '" + zc.primary_ns + "' has addresses twice");
        ns.ttl = zc.ttl;
        ns.v4_begin = static_cast<std::uint16_t>(v4_.size());
        ns.v6_begin = static_cast<std::uint16_t>(v6_.size());
        for (const auto& a : zc.ns_ipv4) v4_.push_back(a.bytes());
        for (const auto& a : zc.ns_ipv6) v6_.push_back(a.bytes());
        check_count(v4_.size());
        check_count(v6_.size());
        ns.v4_count = static_cast<std::uint16_t>(zc.ns_ipv4.size());
        ns.v6_count = static_cast<std::uint16_t>(zc.ns_ipv6.size());
        zones_[z].ns_node = index.at(as_key(w.data(), n));
    }

    for (const name_record& r : config.names) {
        std::size_t n = 0;
        wire_name w = to_wire_or_throw(r.name, n, "VM name");
        std::int64_t z = zone_of(w, n);
        if (z < 0)
            throw std::invalid_argument("VM name '" + r.name + "' lies in none of the zones");
        node& v = add(w.data(), n, static_cast<std::uint16_t>(z));
        if (v.vm) throw std::invalid_argument("VM name '" + r.name + "' is listed twice");
        if (v.v4_count != 0 || v.v6_count != 0)
            throw std::invalid_argument("VM name '" + r.name + "' is also the zone's name server");
        v.vm = true;
        v.vm_index = r.vm;
        v.ttl = r.ttl;
        v.v4_begin = static_cast<std::uint16_t>(v4_.size());
        v.v6_begin = static_cast<std::uint16_t>(v6_.size());
        if (r.ipv4) v4_.push_back(r.ipv4->bytes());
        if (r.ipv6) v6_.push_back(r.ipv6->bytes());
        check_count(v4_.size());
        check_count(v6_.size());
        v.v4_count = r.ipv4 ? 1 : 0;
        v.v6_count = r.ipv6 ? 1 : 0;
    }

    // Empty non-terminals: every ancestor between a name and its zone apex exists (NODATA,
    // not NXDOMAIN: RFC 8020).
    std::size_t owned = nodes_.size();
    for (std::size_t i = 0; i < owned; ++i) {
        if (nodes_[i].apex) continue;
        std::uint16_t z = nodes_[i].zone;
        std::vector<std::uint8_t> w(names_.begin() + nodes_[i].name_at,
                                    names_.begin() + nodes_[i].name_at + nodes_[i].name_length);
        for (std::size_t at : suffixes(w.data(), w.size())) {
            if (at == 0) continue;
            if (w.size() - at <= apex_len[z]) break;
            add(w.data() + at, w.size() - at, z);
        }
    }
    if (nodes_.size() > 0x7fffffff) throw std::invalid_argument("authority: too many names");
    build_index();
}

void compiled_authority::build_index() {
    std::size_t size = 16;
    while (size < nodes_.size() * 2) size *= 2;
    slots_.assign(size, 0);
    mask_ = size - 1;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        std::size_t s = nodes_[i].hash & mask_;
        while (slots_[s] != 0) s = (s + 1) & mask_;
        slots_[s] = static_cast<std::uint32_t>(i + 1);
    }
}

std::int64_t compiled_authority::find(const std::uint8_t* wire, std::size_t length) const noexcept {
    std::uint32_t h = hash_name(wire, length);
    for (std::size_t s = h & mask_;; s = (s + 1) & mask_) {
        std::uint32_t slot = slots_[s];
        if (slot == 0) return -1;
        const node& n = nodes_[slot - 1];
        if (n.hash == h && n.name_length == length &&
            std::memcmp(names_.data() + n.name_at, wire, length) == 0)
            return slot - 1;
    }
}

answer_plan compiled_authority::plan(const query& q) const noexcept {
    answer_plan p;
    std::int64_t found = find(q.lower.data(), q.name_length);
    if (found >= 0) {
        const node& n = nodes_[static_cast<std::size_t>(found)];
        p.what = answer_plan::kind::found;
        p.node = static_cast<std::uint32_t>(found);
        p.zone = n.zone;
        p.vm_query = n.vm && (q.qtype == type::a || q.qtype == type::aaaa || q.qtype == type::any);
        p.vm = n.vm_index;
        return p;
    }
    // The closest existing ancestor decides: inside its zone → NXDOMAIN; none → outside.
    for (std::size_t i = 1; i <= q.label_count; ++i) {
        std::size_t at = i < q.label_count ? q.label_offsets[i] : q.name_length - 1u;
        std::int64_t up = find(q.lower.data() + at, q.name_length - at);
        if (up >= 0) {
            p.what = answer_plan::kind::nxdomain;
            p.zone = nodes_[static_cast<std::size_t>(up)].zone;
            return p;
        }
    }
    return p;
}

struct compiled_authority::impl {
    using writer = detail::message_writer;

    static void rdata_name(writer& w, const compiled_authority::rdata_name& n, std::size_t apex_at,
                           std::size_t apex_length) {
        w.bytes(n.wire.data(), n.wire.size());
        if (!n.under_apex) return;
        if (apex_length == 1)
            w.u8(0);  // the root: one octet, shorter than a pointer
        else
            w.pointer(apex_at);
    }

    // Owner name: a pointer into the question (or the root octet).
    static void owner(writer& w, std::size_t at, std::size_t length) {
        if (length == 1)
            w.u8(0);
        else
            w.pointer(at);
    }

    static void addresses(writer& w, const compiled_authority& a, const node& n, bool v4, bool v6,
                          std::size_t owner_at, std::size_t owner_len, std::uint16_t& count) {
        if (v4)
            for (std::size_t i = 0; i < n.v4_count; ++i) {
                owner(w, owner_at, owner_len);
                w.u16(type::a);
                w.u16(qclass::in);
                w.u32(n.ttl);
                w.u16(4);
                w.bytes(a.v4_[n.v4_begin + i].data(), 4);
                ++count;
            }
        if (v6)
            for (std::size_t i = 0; i < n.v6_count; ++i) {
                owner(w, owner_at, owner_len);
                w.u16(type::aaaa);
                w.u16(qclass::in);
                w.u32(n.ttl);
                w.u16(16);
                w.bytes(a.v6_[n.v6_begin + i].data(), 16);
                ++count;
            }
    }

    static void soa(writer& w, const zone& z, std::size_t apex_at, std::uint32_t ttl) {
        owner(w, apex_at, z.apex_length);
        w.u16(type::soa);
        w.u16(qclass::in);
        w.u32(ttl);
        std::size_t rdlength_at = w.size();
        w.u16(0);
        rdata_name(w, z.mname, apex_at, z.apex_length);
        rdata_name(w, z.rname, apex_at, z.apex_length);
        w.bytes(z.soa_numbers.data(), z.soa_numbers.size());
        if (w.ok()) w.patch16(rdlength_at, static_cast<std::uint16_t>(w.size() - rdlength_at - 2));
    }

    // Returns where the NS target name starts (for the glue's owner pointer).
    static std::size_t ns(writer& w, const zone& z, std::size_t apex_at) {
        owner(w, apex_at, z.apex_length);
        w.u16(type::ns);
        w.u16(qclass::in);
        w.u32(z.ttl);
        std::size_t rdlength_at = w.size();
        w.u16(0);
        std::size_t target_at = w.size();
        rdata_name(w, z.mname, apex_at, z.apex_length);
        if (w.ok()) w.patch16(rdlength_at, static_cast<std::uint16_t>(w.size() - rdlength_at - 2));
        return target_at;
    }
};

std::size_t compiled_authority::write_answer(const query& q, const answer_plan& plan,
                                             std::span<std::uint8_t> out, std::size_t limit,
                                             std::uint8_t* rcode_out) const noexcept {
    detail::message_writer w(out, limit);
    std::uint16_t flags = flag::qr | flag::aa | (q.flags & (flag::rd | flag::cd));
    w.header(q.id, flags);
    w.question(q);
    if (!w.ok()) return 0;
    const std::size_t question_end = w.size();
    if (q.has_opt) w.reserve(detail::opt_size);

    std::uint8_t rc = rcode::noerror;
    std::uint16_t an = 0, ns = 0, ar = 0;
    const zone& z = zones_[plan.zone];
    const std::size_t apex_at = header_size + q.name_length - z.apex_length;
    const std::size_t qname_at = header_size;
    if (plan.what == answer_plan::kind::nxdomain) {
        rc = rcode::nxdomain;
        impl::soa(w, z, apex_at, z.negative_ttl);
        ++ns;
    } else {
        const node& n = nodes_[plan.node];
        const std::uint16_t t = q.qtype;
        const bool any = t == type::any;
        impl::addresses(w, *this, n, t == type::a || any, t == type::aaaa || any, qname_at,
                        q.name_length, an);
        if (n.apex) {
            if (t == type::soa || any) {
                impl::soa(w, z, apex_at, z.ttl);
                ++an;
            }
            if (t == type::ns || any) {
                std::size_t target_at = impl::ns(w, z, apex_at);
                ++an;
                // Glue: the in-zone name server's addresses, unless they already are answers.
                if (z.ns_node >= 0 &&
                    !(any && static_cast<std::uint32_t>(z.ns_node) == plan.node) &&
                    target_at < 0x3fff) {
                    const node& nsn = nodes_[static_cast<std::size_t>(z.ns_node)];
                    impl::addresses(w, *this, nsn, true, true, target_at, nsn.name_length, ar);
                }
            }
        }
        if (an == 0) {  // NODATA (RFC 2308 §2.2): SOA in authority
            impl::soa(w, z, apex_at, z.negative_ttl);
            ++ns;
        }
    }
    if (!w.ok()) {  // does not fit: TC=1, question only; the client retries over TCP
        w.rewind(question_end);
        an = ns = ar = 0;
        rc = rcode::noerror;
        flags |= flag::tc;
    }
    if (q.has_opt) {
        w.release(detail::opt_size);
        w.opt(max_udp_, 0, q.dnssec_ok);
        ++ar;
    }
    if (!w.ok()) return 0;
    w.patch16(2, flags | rc);
    w.patch16(4, 1);
    w.patch16(detail::ancount_at, an);
    w.patch16(detail::nscount_at, ns);
    w.patch16(detail::arcount_at, ar);
    if (rcode_out != nullptr) *rcode_out = rc;
    return w.size();
}

}  // namespace jitsu::dns
