#include "common/booting_value.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/syn_queue.h"

namespace jitsu {

namespace {

std::string_view trim(std::string_view s) {
    const auto blank = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

booting_value_error error(std::string reason) { return {std::move(reason)}; }

// "80+443" -> {80, 443}; false on an empty list, a bad port or too many.
bool parse_ports(std::string_view text, std::vector<std::uint16_t>& out) {
    for (std::size_t n = 0;; ++n) {
        if (n >= max_booting_ports) return false;
        const auto plus = text.find('+');
        const auto port = parse_decimal(text.substr(0, plus), 65535);
        if (!port || *port == 0) return false;
        const auto p = static_cast<std::uint16_t>(*port);
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
        if (plus == std::string_view::npos) return true;
        text.remove_prefix(plus + 1);
    }
}

bool is_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

const char* to_string(replay_mode mode) {
    switch (mode) {
        case replay_mode::guest:
            return "guest";
        case replay_mode::host:
            return "host";
    }
    return "?";
}

std::variant<booting_value, booting_value_error> parse_booting_value(std::string_view text) {
    if (text.size() > max_booting_value_length) {
        return error(fmt::format("longer than {} characters", max_booting_value_length));
    }
    text = trim(text);
    booting_value value;
    const auto first = text.find(' ');
    const auto mac = mac_address::parse(text.substr(0, first));
    if (!mac || mac->is_multicast() || mac->is_zero()) return error("not a unicast MAC");
    value.mac = *mac;
    bool seen_replay = false;
    bool seen_ports = false;
    std::string_view rest =
        first == std::string_view::npos ? std::string_view{} : text.substr(first);
    while (!rest.empty()) {
        rest.remove_prefix(1);  // the single separating space
        const auto end = rest.find(' ');
        const std::string_view token = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
        const auto eq = token.find('=');
        if (token.empty()) return error("empty token (tokens are separated by one space)");
        if (eq == std::string_view::npos || eq == 0) {
            return error(fmt::format("'{}' is not key=value", token));
        }
        const std::string_view key = token.substr(0, eq);
        const std::string_view val = token.substr(eq + 1);
        if (!std::all_of(key.begin(), key.end(), is_key_char)) {
            return error(fmt::format("bad key '{}'", key));
        }
        if (key == "replay") {
            if (seen_replay) return error("replay= given twice");
            seen_replay = true;
            if (val == "host") {
                value.replay = replay_mode::host;
            } else if (val == "guest") {
                value.replay = replay_mode::guest;
            } else {
                return error(fmt::format("replay='{}' (guest or host)", val));
            }
        } else if (key == "ports") {
            if (seen_ports) return error("ports= given twice");
            seen_ports = true;
            if (!parse_ports(val, value.ports)) {
                return error(fmt::format("ports='{}' (1 to {} ports 1..65535 joined by '+')", val,
                                         max_booting_ports));
            }
        }
        // Any other key: a newer writer's, ignored.
    }
    return value;
}

std::string format_booting_value(const booting_value& value) {
    std::string out = value.mac.to_string();
    if (value.replay != replay_mode::host) return out;
    out += " replay=host";
    for (std::size_t i = 0; i < value.ports.size(); ++i) {
        out += i == 0 ? " ports=" : "+";
        out += std::to_string(value.ports[i]);
    }
    return out;
}

}  // namespace jitsu
