#include "spec_values.h"

#include <fmt/format.h>
#include <uuid/uuid.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace jitsu::dns::detail {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_printable(char c) { return c >= 0x20 && c <= 0x7e; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lower(std::string_view text, std::string_view word) {
    return text.size() == word.size() && std::equal(text.begin(), text.end(), word.begin(),
                                                    [](char a, char b) { return lower(a) == b; });
}

}  // namespace

std::string quote(std::string_view text, std::size_t max) {
    std::string out = "\"";
    const std::size_t n = std::min(text.size(), max);
    for (std::size_t i = 0; i < n; ++i) {
        const char c = text[i];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (is_printable(c)) {
            out += c;
        } else {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        }
    }
    if (n < text.size()) out += "...";
    out += '"';
    return out;
}

std::chrono::milliseconds parse_seconds(std::string_view text, std::chrono::milliseconds max) {
    const auto bad = [&] {
        return value_error(
            fmt::format("{} is not a number of seconds from 0 to {} with at most 3 "
                        "decimals",
                        quote(text), max.count() / 1000));
    };
    const auto dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view frac =
        dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if (whole.empty() || whole.size() > 7 || !std::all_of(whole.begin(), whole.end(), is_digit))
        throw bad();
    if (dot != std::string_view::npos &&
        (frac.empty() || frac.size() > 3 || !std::all_of(frac.begin(), frac.end(), is_digit))) {
        throw bad();
    }
    std::int64_t ms = 0;
    for (char c : whole) ms = ms * 10 + (c - '0');
    ms *= 1000;
    std::int64_t scale = 100;
    for (char c : frac) {
        ms += (c - '0') * scale;
        scale /= 10;
    }
    if (ms > max.count()) throw bad();
    return std::chrono::milliseconds(ms);
}

std::uint64_t parse_unsigned(std::string_view text, std::uint64_t min, std::uint64_t max) {
    const auto bad = [&] {
        return value_error(
            fmt::format("{} is not an integer from {} to {}", quote(text), min, max));
    };
    if (text.empty() || text.size() > 20 || !std::all_of(text.begin(), text.end(), is_digit))
        throw bad();
    if (text.size() > 1 && text[0] == '0') throw bad();
    std::uint64_t v = 0;
    for (char c : text) {
        const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        if (v > (max - d) / 10) throw bad();  // v * 10 + d > max, without overflow
        v = v * 10 + d;
    }
    if (v < min) throw bad();
    return v;
}

bool parse_bool(std::string_view text) {
    for (std::string_view t : {"1", "true", "yes"}) {
        if (equals_lower(text, t)) return true;
    }
    for (std::string_view f : {"0", "false", "no"}) {
        if (equals_lower(text, f)) return false;
    }
    throw value_error(fmt::format("{} is not one of 1, 0, true, false, yes, no", quote(text)));
}

stop_mode parse_stop_mode(std::string_view text) {
    if (text == "destroy") return stop_mode::destroy;
    if (text == "suspend") return stop_mode::suspend;
    if (text == "shutdown") return stop_mode::shutdown;
    throw value_error(fmt::format("{} is not one of destroy, suspend, shutdown", quote(text)));
}

replay_mode parse_replay_mode(std::string_view text) {
    if (text == "guest") return replay_mode::guest;
    if (text == "host") return replay_mode::host;
    throw value_error(fmt::format("{} is not one of guest, host", quote(text)));
}

std::uint16_t parse_port(std::string_view text) {
    return static_cast<std::uint16_t>(parse_unsigned(text, 1, 65535));
}

libvirt_domain_type parse_libvirt_domain_type(std::string_view text) {
    if (text == "kvm") return libvirt_domain_type::kvm;
    if (text == "qemu") return libvirt_domain_type::qemu;
    throw value_error(fmt::format("{} is not one of kvm, qemu", quote(text)));
}

std::string parse_dns_name(std::string_view text) {
    std::string_view name = text;
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    const auto bad = [&](std::string_view why) {
        return value_error(fmt::format("{} is not a valid host name ({})", quote(text), why));
    };
    if (name.empty()) throw bad("empty");
    if (name.size() > 253) throw bad("longer than 253 characters");
    std::string out;
    out.reserve(name.size());
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            const std::size_t len = i - label_start;
            if (len == 0) throw bad("empty label");
            if (len > 63) throw bad("label longer than 63 characters");
            if (name[label_start] == '-' || name[i - 1] == '-')
                throw bad("label starts or ends with '-'");
            if (i < name.size()) out += '.';
            label_start = i + 1;
            continue;
        }
        const char c = name[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-') {
            throw bad("only letters, digits, '-' and '.' are allowed");
        }
        out += lower(c);
    }
    return out;
}

std::string parse_vm_name(std::string_view text) {
    // Not "-..." either: the name is an argument to tools (ip netns, virsh, jitsu-netvm).
    const bool ok = !text.empty() && text.size() <= 64 && text != "." && text != ".." &&
                    text[0] != '-' && std::all_of(text.begin(), text.end(), [](char c) {
                        return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
                    });
    if (!ok) {
        throw value_error(fmt::format(
            "{} is not a VM name (1-64 of [A-Za-z0-9_.-], not starting with -, not . or ..)",
            quote(text)));
    }
    return std::string(text);
}

std::string parse_xenstore_key(std::string_view text) {
    const bool chars_ok = std::all_of(text.begin(), text.end(), [](char c) {
        return is_alpha(c) || is_digit(c) || c == '_' || c == '@' || c == '/' || c == '-';
    });
    const bool ok = chars_ok && !text.empty() && text.size() <= 256 && text.front() != '/' &&
                    text.back() != '/' && text.find("//") == std::string_view::npos;
    if (!ok) {
        throw value_error(fmt::format(
            "{} is not a relative Xenstore path (1-256 of [A-Za-z0-9_@/-], no leading, trailing "
            "or double '/')",
            quote(text)));
    }
    return std::string(text);
}

std::string parse_interface_name(std::string_view text) {
    const bool ok = !text.empty() && text.size() <= 15 && text != "." && text != ".." &&
                    std::all_of(text.begin(), text.end(), [](char c) {
                        return is_printable(c) && c != '/' && c != ':' && c != ' ';
                    });
    if (!ok) {
        throw value_error(fmt::format(
            "{} is not an interface name (1-15 printable characters, no '/', ':' or space)",
            quote(text)));
    }
    return std::string(text);
}

std::string parse_disk(std::string_view text) {
    const auto at = text.rfind('@');
    const auto bad = [&] {
        return value_error(
            fmt::format("{} is not TARGET@VDEV (e.g. /dev/loop5@xvda)", quote(text)));
    };
    if (at == std::string_view::npos || at == 0) throw bad();
    const std::string_view target = text.substr(0, at);
    const std::string_view vdev = text.substr(at + 1);
    if (vdev.empty() || vdev.size() > 16 || !is_alpha(vdev[0]) ||
        !std::all_of(vdev.begin(), vdev.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || is_digit(c); })) {
        throw bad();
    }
    parse_text(target);
    return std::string(text);
}

std::string parse_uuid(std::string_view text) {
    // uuid_parse wants a NUL-terminated string of exactly 36 characters.
    std::array<char, 37> buf{};
    uuid_t u;
    if (text.size() != 36 || std::find(text.begin(), text.end(), '\0') != text.end()) {
        throw value_error(fmt::format("{} is not a UUID (8-4-4-4-12 hex digits)", quote(text)));
    }
    std::copy(text.begin(), text.end(), buf.begin());
    if (uuid_parse(buf.data(), u) != 0) {
        throw value_error(fmt::format("{} is not a UUID (8-4-4-4-12 hex digits)", quote(text)));
    }
    if (uuid_is_null(u)) throw value_error("the nil UUID is not a VM's identity");
    uuid_unparse_lower(u, buf.data());
    return std::string(buf.data(), 36);
}

std::string parse_text(std::string_view text) {
    if (text.empty()) throw value_error("empty value");
    if (!std::all_of(text.begin(), text.end(), is_printable)) {
        throw value_error(fmt::format("{} contains bytes outside printable ASCII", quote(text)));
    }
    return std::string(text);
}

}  // namespace jitsu::dns::detail
