#include "common/syn_queue.h"

#include <array>
#include <limits>

#include "common/detail/text.h"
#include "common/hex.h"
#include "common/packet/frame.h"

namespace jitsu {

namespace {

// Index of each required field in the table of syn_queue.h.
constexpr std::array<std::string_view, 10> field_names = {
    syn_key::tx_wnd, syn_key::sequence, syn_key::options,
    syn_key::tx_isn, syn_key::rx_wnd,   syn_key::rx_wnd_scaleoffer,
    syn_key::frame,  syn_key::mac,      syn_key::time,
    syn_key::count};

syn_decode_error fail(std::string_view field, std::string reason) {
    return {std::string(field), std::move(reason)};
}

// One S-expression list: '(' ... ')' with balanced parentheses, printable ASCII only
// (the formatter escapes everything else inside quoted strings), quotes and escapes
// well-formed. Not a full parse: the reading stack parses it.
bool plausible_sexp_list(std::string_view s) {
    if (s.size() < 2 || s.size() > max_tcp_options_sexp_length) return false;
    if (s.front() != '(' || s.back() != ')') return false;
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c < ' ' || c > '~') return false;
        if (in_string) {
            if (c == '\\') {
                if (++i == s.size()) return false;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')') {
            if (--depth < 0) return false;
            // The outer list closes only at the very end.
            if (depth == 0 && i + 1 != s.size()) return false;
        }
    }
    return depth == 0 && !in_string;
}

bool is_lower_hex(std::string_view s) {
    for (char c : s) {
        if (!detail::is_decimal_digit(c) && !(c >= 'a' && c <= 'f')) return false;
    }
    return true;
}

// The frame is a SYN (no ACK) from tuple.remote to tuple.local.
std::optional<std::string> check_frame(const four_tuple& tuple,
                                       std::span<const std::uint8_t> frame) {
    const auto parsed = packet::parse_frame(frame);
    if (!parsed || !parsed->tcp) return "not an Ethernet/IP/TCP frame";
    if (!parsed->tcp->is_syn_only()) return "not a SYN without ACK";
    if (parsed->src_ip() != tuple.remote_ip || parsed->dst_ip() != tuple.local_ip ||
        parsed->tcp->src_port() != tuple.remote_port ||
        parsed->tcp->dst_port() != tuple.local_port) {
        return "addresses or ports differ from the path's connection";
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    if (text.size() > 1 && text[0] == '0') return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        if (!detail::is_decimal_digit(c)) return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    if (value > max) return std::nullopt;
    return value;
}

std::string connection_node(const four_tuple& tuple) {
    std::string path = syn_record_path(tuple);
    path.resize(path.size() - std::string_view("/syn").size());
    return path;
}

std::string syn_decode_error::to_string() const {
    return field.empty() ? reason : field + ": " + reason;
}

std::vector<syn_field> encode_queued_syn(const queued_syn& syn) {
    std::vector<syn_field> out;
    out.reserve(field_names.size());
    out.emplace_back(syn_key::tx_wnd, std::to_string(syn.tx_wnd));
    out.emplace_back(syn_key::sequence, std::to_string(syn.sequence));
    out.emplace_back(syn_key::options, syn.options);
    out.emplace_back(syn_key::tx_isn, std::to_string(syn.tx_isn));
    out.emplace_back(syn_key::rx_wnd, std::to_string(syn.rx_wnd));
    out.emplace_back(syn_key::rx_wnd_scaleoffer, std::to_string(syn.rx_wnd_scaleoffer));
    out.emplace_back(syn_key::frame, to_hex(syn.frame));
    out.emplace_back(syn_key::mac, syn.client_mac.to_string());
    out.emplace_back(syn_key::time, std::to_string(syn.time_ns));
    out.emplace_back(syn_key::count, std::to_string(syn.count));
    return out;
}

std::variant<queued_syn, syn_decode_error> decode_queued_syn(
    const four_tuple& tuple, std::span<const syn_field_view> fields) {
    std::array<std::optional<std::string_view>, field_names.size()> value;
    for (const auto& [name, text] : fields) {
        for (std::size_t i = 0; i < field_names.size(); ++i) {
            if (name != field_names[i]) continue;
            if (value[i]) return fail(name, "given twice");
            value[i] = text;
        }
    }
    for (std::size_t i = 0; i < field_names.size(); ++i) {
        if (!value[i]) return fail(field_names[i], "missing");
    }
    auto get = [&](std::string_view name) {
        for (std::size_t i = 0; i < field_names.size(); ++i) {
            if (field_names[i] == name) return *value[i];
        }
        return std::string_view{};
    };
    auto number = [&](std::string_view name, std::uint64_t max,
                      std::uint64_t min = 0) -> std::variant<std::uint64_t, syn_decode_error> {
        const auto n = parse_decimal(get(name), max);
        if (!n || *n < min) {
            return fail(name, "not a decimal integer in " + std::to_string(min) + ".." +
                                  std::to_string(max));
        }
        return *n;
    };

    queued_syn syn;
    syn.tuple = tuple;

    struct numeric {
        std::string_view name;
        std::uint64_t max;
        std::uint64_t min;
    };
    const std::array<numeric, 7> numerics = {{
        {syn_key::tx_wnd, 65535, 0},
        {syn_key::sequence, 0xffffffffU, 0},
        {syn_key::tx_isn, 0xffffffffU, 0},
        {syn_key::rx_wnd, max_rx_wnd, 0},
        {syn_key::rx_wnd_scaleoffer, max_window_scale, 0},
        {syn_key::time, std::numeric_limits<std::uint64_t>::max(), 0},
        {syn_key::count, 0xffffffffU, 1},
    }};
    std::array<std::uint64_t, numerics.size()> n{};
    for (std::size_t i = 0; i < numerics.size(); ++i) {
        auto r = number(numerics[i].name, numerics[i].max, numerics[i].min);
        if (auto* e = std::get_if<syn_decode_error>(&r)) return std::move(*e);
        n[i] = std::get<std::uint64_t>(r);
    }
    syn.tx_wnd = static_cast<std::uint16_t>(n[0]);
    syn.sequence = static_cast<std::uint32_t>(n[1]);
    syn.tx_isn = static_cast<std::uint32_t>(n[2]);
    syn.rx_wnd = static_cast<std::uint32_t>(n[3]);
    syn.rx_wnd_scaleoffer = static_cast<std::uint8_t>(n[4]);
    syn.time_ns = n[5];
    syn.count = static_cast<std::uint32_t>(n[6]);

    const std::string_view options = get(syn_key::options);
    if (!plausible_sexp_list(options)) {
        return fail(syn_key::options, "not one printable S-expression list of at most " +
                                          std::to_string(max_tcp_options_sexp_length) +
                                          " characters");
    }
    syn.options = std::string(options);

    const auto mac = mac_address::parse(get(syn_key::mac));
    if (!mac) return fail(syn_key::mac, "not a MAC address aa:bb:cc:dd:ee:ff");
    syn.client_mac = *mac;

    const std::string_view hex = get(syn_key::frame);
    if (hex.empty()) return fail(syn_key::frame, "empty");
    if (hex.size() > 2 * max_queued_frame_size) {
        return fail(syn_key::frame,
                    "longer than " + std::to_string(max_queued_frame_size) + " bytes");
    }
    if (hex.size() % 2 != 0 || !is_lower_hex(hex)) {
        return fail(syn_key::frame, "not lowercase hex of even length");
    }
    auto bytes = from_hex(hex);
    if (!bytes) return fail(syn_key::frame, "not lowercase hex of even length");
    if (auto why = check_frame(tuple, *bytes)) return fail(syn_key::frame, std::move(*why));
    syn.frame = std::move(*bytes);
    return syn;
}

}  // namespace jitsu
