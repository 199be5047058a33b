// jitsu-httpd's request parser and response writer.
#include "guest/http.h"

#include <gtest/gtest.h>

namespace jitsu::guest {
namespace {

TEST(guest_http, parses_a_simple_get) {
    const std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
    auto r = parse_http_request(req, 8192);
    ASSERT_EQ(r.status, parse_status::complete);
    EXPECT_EQ(r.request.method, "GET");
    EXPECT_EQ(r.request.target, "/");
    EXPECT_EQ(r.request.minor_version, 1);
    EXPECT_TRUE(r.request.keep_alive);
    EXPECT_EQ(r.consumed, req.find("GET /next"));
}

TEST(guest_http, keep_alive_rules) {
    EXPECT_FALSE(parse_http_request("GET / HTTP/1.0\r\n\r\n", 8192).request.keep_alive);
    EXPECT_TRUE(parse_http_request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 8192)
                    .request.keep_alive);
    EXPECT_FALSE(parse_http_request("GET / HTTP/1.1\r\nconnection: foo, close\r\n\r\n", 8192)
                     .request.keep_alive);
}

TEST(guest_http, incomplete_and_too_large) {
    EXPECT_EQ(parse_http_request("GET / HTTP/1.1\r\nHost: x\r\n", 8192).status,
              parse_status::incomplete);
    EXPECT_EQ(parse_http_request("", 8192).status, parse_status::incomplete);
    const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a');
    EXPECT_EQ(parse_http_request(big, 8192).status, parse_status::too_large);
    const std::string big_complete = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n";
    EXPECT_EQ(parse_http_request(big_complete, 8192).status, parse_status::too_large);
}

TEST(guest_http, rejects_malformed_requests) {
    for (const char* req :
         {"GET /\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/2.0\r\n\r\n",
          "G(T / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
          "GET / HTTP/1.1\r\n: empty\r\n\r\n", "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
          "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "GET /a\x01 HTTP/1.1\r\n\r\n"}) {
        EXPECT_EQ(parse_http_request(req, 8192).status, parse_status::bad) << req;
    }
    EXPECT_EQ(parse_http_request("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 8192).status,
              parse_status::complete);
}

TEST(guest_http, responses) {
    EXPECT_EQ(http_response(200, "hi\n", true),
              "HTTP/1.1 200 OK\r\nServer: jitsu-httpd\r\nContent-Type: text/plain\r\n"
              "Content-Length: 3\r\nConnection: keep-alive\r\n\r\nhi\n");
    const std::string head = http_response(404, "nope", false, true);
    EXPECT_NE(head.find("404 Not Found"), std::string::npos);
    EXPECT_NE(head.find("Content-Length: 4\r\nConnection: close\r\n\r\n"), std::string::npos);
    EXPECT_EQ(head.find("nope"), std::string::npos);
}

}  // namespace
}  // namespace jitsu::guest
