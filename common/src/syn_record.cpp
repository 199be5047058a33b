#include "common/syn_record.h"

#include <charconv>
#include <cstring>

namespace jitsu {
namespace {

using packet::tcp_option;
namespace kind = packet::tcp_option_kind;

// Appends to a fixed buffer; remembers overflow instead of writing past the end.
class text_sink {
  public:
    explicit text_sink(std::span<char> out) : out_(out) {}

    void put(std::string_view s) {
        if (overflow_ || s.size() > out_.size() - length_) {
            overflow_ = true;
            return;
        }
        std::memcpy(out_.data() + length_, s.data(), s.size());
        length_ += s.size();
    }
    void put(char c) { put(std::string_view(&c, 1)); }
    template <typename Int>
    void put_int(Int v) {
        char buf[24];
        const auto result = std::to_chars(buf, buf + sizeof buf, v);
        put(std::string_view(buf, static_cast<std::size_t>(result.ptr - buf)));
    }
    // OCaml's sexp_of_int32 is Int32.to_string: signed decimal.
    void put_int32(std::uint32_t v) { put_int(static_cast<std::int32_t>(v)); }

    std::size_t length() const { return overflow_ ? 0 : length_; }

  private:
    std::span<char> out_;
    std::size_t length_ = 0;
    bool overflow_ = false;
};

// An OCaml string literal, escaped as String.escaped does.
void put_ocaml_string(text_sink& out, std::span<const std::uint8_t> bytes) {
    out.put('"');
    for (std::uint8_t b : bytes) {
        switch (b) {
            case '"':
                out.put("\\\"");
                break;
            case '\\':
                out.put("\\\\");
                break;
            case '\n':
                out.put("\\n");
                break;
            case '\t':
                out.put("\\t");
                break;
            case '\r':
                out.put("\\r");
                break;
            case '\b':
                out.put("\\b");
                break;
            default:
                if (b >= ' ' && b <= '~') {
                    out.put(static_cast<char>(b));
                } else {
                    const char esc[4] = {'\\', static_cast<char>('0' + b / 100),
                                         static_cast<char>('0' + (b / 10) % 10),
                                         static_cast<char>('0' + b % 10)};
                    out.put(std::string_view(esc, 4));
                }
        }
    }
    out.put('"');
}

void put_option(text_sink& out, const tcp_option& o) {
    switch (o.kind) {
        case kind::nop:
            out.put("Noop");
            break;
        case kind::mss:
            out.put("(MSS ");
            out.put_int(o.mss);
            out.put(')');
            break;
        case kind::window_scale:
            out.put("(Window_size_shift ");
            out.put_int(o.window_scale);
            out.put(')');
            break;
        case kind::sack_permitted:
            out.put("SACK_ok");
            break;
        case kind::sack:
            out.put("(SACK (");
            for (std::size_t i = 0; i < o.sack_count && i < tcp_option::max_sack_blocks; ++i) {
                if (i > 0) out.put(' ');
                out.put('(');
                out.put_int32(o.sack[i].left);
                out.put(' ');
                out.put_int32(o.sack[i].right);
                out.put(')');
            }
            out.put("))");
            break;
        case kind::timestamp:
            out.put("(Timestamp ");
            out.put_int32(o.ts_value);
            out.put(' ');
            out.put_int32(o.ts_echo);
            out.put(')');
            break;
        default:
            out.put("(Unknown ");
            out.put_int(o.kind);
            out.put(' ');
            put_ocaml_string(out, o.data);
            out.put(')');
            break;
    }
}

// Formats options until `next` returns nullopt; the list separator is one space.
template <typename Next>
std::size_t write_list(std::span<char> buffer, Next&& next) {
    text_sink out(buffer);
    out.put('(');
    bool first = true;
    while (const auto o = next()) {
        if (o->kind == kind::eol) break;
        if (!first) out.put(' ');
        first = false;
        put_option(out, *o);
    }
    out.put(')');
    return out.length();
}

std::string ip_segment(const ip_address& ip) { return ip.to_xenstore(); }

}  // namespace

std::size_t write_tcp_options_sexp(std::span<const std::uint8_t> raw_options, std::span<char> out) {
    packet::tcp_option_reader reader(raw_options);
    const std::size_t length = write_list(out, [&] { return reader.next(); });
    return reader.malformed() ? 0 : length;
}

std::optional<std::string> tcp_options_sexp(std::span<const std::uint8_t> raw_options) {
    char buf[max_tcp_options_sexp_length];
    packet::tcp_option_reader reader(raw_options);
    const std::size_t length = write_list(buf, [&] { return reader.next(); });
    if (reader.malformed() || length == 0) return std::nullopt;
    return std::string(buf, length);
}

std::string tcp_options_sexp(std::span<const packet::tcp_option> options) {
    // Options in memory are not bounded by the 40-byte header; size the buffer for
    // the longest rendering of each: a 4-block SACK is ~115 characters, an Unknown of n
    // bytes at most 4n + 17.
    std::size_t capacity = 2;
    for (const tcp_option& o : options) capacity += 160 + 4 * o.data.size();
    std::string s(capacity, '\0');
    std::size_t i = 0;
    const std::size_t length = write_list(s, [&]() -> std::optional<tcp_option> {
        if (i == options.size()) return std::nullopt;
        return options[i++];
    });
    s.resize(length);
    return s;
}

std::string synjitsu_booting_path(const ip_address& vm_ip) {
    return "/synjitsu/booting/" + ip_segment(vm_ip);
}

std::string ip_state_path(const ip_address& vm_ip) { return "/ip/" + ip_segment(vm_ip); }

std::string syn_record_path(const four_tuple& c) {
    return ip_state_path(c.local_ip) + "/" + std::to_string(c.local_port) + "/" +
           ip_segment(c.remote_ip) + "/" + std::to_string(c.remote_port) + "/syn";
}

}  // namespace jitsu
