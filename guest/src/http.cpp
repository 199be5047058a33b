#include "guest/http.h"

#include <algorithm>
#include <cctype>

#include "common/syn_queue.h"

namespace jitsu::guest {

namespace {

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Does a comma-separated header value contain `token`?
bool has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        if (iequals(trim(value.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

parse_result bad(std::string why) {
    parse_result r;
    r.status = parse_status::bad;
    r.error = std::move(why);
    return r;
}

const char* reason_of(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

}  // namespace

parse_result parse_http_request(std::string_view data, std::size_t max_head) {
    // Leading empty lines before a request are allowed (RFC 9112 §2.2).
    std::size_t start = 0;
    while (start + 1 < data.size() && data[start] == '\r' && data[start + 1] == '\n') start += 2;
    const auto end = data.find("\r\n\r\n", start);
    if (end == std::string_view::npos || end + 4 > max_head) {
        parse_result r;
        r.status = (data.size() >= max_head) ? parse_status::too_large : parse_status::incomplete;
        return r;
    }
    std::string_view head = data.substr(start, end + 2 - start);  // lines, each ending CRLF
    auto next_line = [&head]() {
        const auto eol = head.find("\r\n");
        std::string_view line = head.substr(0, eol);
        head.remove_prefix(eol + 2);
        return line;
    };

    parse_result r;
    std::string_view line = next_line();
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return bad("malformed request line");
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) {
        return bad("bad method");
    }
    if (target.empty() ||
        std::any_of(target.begin(), target.end(), [](char c) { return c <= ' ' || c == 0x7f; })) {
        return bad("bad target");
    }
    if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
        version[7] > '9') {
        return bad("unsupported version");
    }
    r.request.method = std::string(method);
    r.request.target = std::string(target);
    r.request.minor_version = version[7] - '0';
    bool keep_alive = r.request.minor_version >= 1;

    while (!head.empty()) {
        line = next_line();
        const auto colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) return bad("malformed header");
        const std::string_view name = line.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), is_token_char)) return bad("malformed header");
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "connection")) {
            if (has_token(value, "close")) keep_alive = false;
            if (has_token(value, "keep-alive")) keep_alive = true;
        } else if (iequals(name, "content-length")) {
            const auto n = parse_decimal(value, 1U << 30);
            if (!n) return bad("bad Content-Length");
            if (*n != 0) return bad("request bodies are not accepted");
        } else if (iequals(name, "transfer-encoding")) {
            return bad("request bodies are not accepted");
        }
    }
    r.request.keep_alive = keep_alive;
    r.status = parse_status::complete;
    r.consumed = end + 4;
    return r;
}

std::string http_response(int status, std::string_view body, bool keep_alive, bool head) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\n";
    out += "Server: jitsu-httpd\r\nContent-Type: text/plain\r\nContent-Length: ";
    out += std::to_string(body.size());
    out += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
    if (!head) out += body;
    return out;
}

}  // namespace jitsu::guest
