#pragma once
// The tiny static HTTP/1.x server bundled for demos and benchmarks (jitsu-httpd): an
// incremental request parser that knows nothing of sockets, the response writer, and
// the server loop (Boost.Asio coroutines, one thread).
//
// It answers GET and HEAD of "/" with 200 and a fixed body, other paths with 404, other
// methods with 405, and anything malformed or oversized with 400/431 and a close.
// Requests with a body (Content-Length > 0, Transfer-Encoding) are refused (400, close).
// Keep-alive follows HTTP/1.1 rules (1.0: only with "Connection: keep-alive").

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace jitsu::guest {

struct http_request {
    std::string method;
    std::string target;
    int minor_version = 1;  // HTTP/1.<minor>
    bool keep_alive = true;
};

enum class parse_status { complete, incomplete, bad, too_large };

struct parse_result {
    parse_status status = parse_status::incomplete;
    // Bytes of `data` the request took (complete only).
    std::size_t consumed = 0;
    http_request request{};
    // Why, for bad.
    std::string error{};
};

// Parses one request head from the start of `data`. incomplete: more bytes needed (and
// fewer than `max_head` seen); too_large: no end of head within `max_head` bytes.
parse_result parse_http_request(std::string_view data, std::size_t max_head);

// A whole response with Content-Length; without the body for HEAD.
std::string http_response(int status, std::string_view body, bool keep_alive, bool head = false);

struct httpd_config {
    std::uint16_t port = 80;
    // The body of GET /.
    std::string body = "Hello from jitsu\n";
    // Address to bind; empty = every address (IPv6 dual-stack, IPv4 if IPv6 is off).
    std::string bind;
    std::size_t max_head = 8192;
    std::chrono::milliseconds idle_timeout{10000};
    std::size_t max_connections = 1024;
};

// Serves until SIGTERM/SIGINT; returns the exit code (0, or 1 if it cannot listen —
// the error is printed).
int run_httpd(const httpd_config& config);

}  // namespace jitsu::guest
