// Forwarding names outside the zones to a fake upstream (a UDP socket in the test):
// id rewriting, relaying, spoofed and mismatched replies ignored, timeout → SERVFAIL,
// the pending-table limit, TC handling for UDP clients and the TCP retry for TCP clients.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "sample_authority.h"
#include "server_fixture.h"

namespace jitsu::dns {
namespace {

using namespace test;

server_options forwarding_to(std::uint16_t upstream_port) {
    server_options o = local_options();
    o.forwarder =
        boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), upstream_port);
    o.forward_timeout = 300ms;
    return o;
}

// The upstream's answer to `q`: QR+RA set, one A record 192.0.2.7 (TTL 77), plus
// `padding` extra A records to make it large; optionally TC.
bytes upstream_answer(const bytes& q, std::size_t extra = 0, bool tc = false) {
    bytes r = q;
    r[2] |= 0x80;  // QR
    if (tc) r[2] |= 0x02;
    r[3] |= 0x80;       // RA
    r[10] = r[11] = 0;  // drop any OPT the client sent
    // Cut to header + question (the test queries have no other sections but OPT).
    std::size_t end = 12;
    while (r[end] != 0) end += 1 + r[end];
    r.resize(end + 1 + 4);
    std::uint16_t count = static_cast<std::uint16_t>(1 + extra);
    r[6] = static_cast<std::uint8_t>(count >> 8);
    r[7] = static_cast<std::uint8_t>(count);
    for (std::size_t i = 0; i < count; ++i) {
        append(r, {0xc0, 0x0c});
        append16(r, type::a);
        append16(r, qclass::in);
        append(r, {0, 0, 0, 77, 0, 4, 192, 0, 2, static_cast<std::uint8_t>(7 + i)});
    }
    return r;
}

// What the upstream received: the forwarded query and the port it came from.
struct forwarded {
    bytes message;
    std::uint16_t from_port = 0;
    std::uint16_t id() const { return load_be16(message.data()); }
};

std::optional<forwarded> next_forward(udp_client& upstream, std::chrono::milliseconds t = 2000ms) {
    forwarded f;
    auto m = upstream.receive(t, &f.from_port);
    if (!m) return std::nullopt;
    f.message = *m;
    return f;
}

TEST(dns_forwarder, relays_with_the_clients_id_and_a_fresh_upstream_id) {
    udp_client upstream;
    server_fixture f(forwarding_to(upstream.port()), sample::authority());
    udp_client client;
    std::set<std::uint16_t> upstream_ids;
    for (int i = 0; i < 8; ++i) {
        query_options o;
        o.id = 0x1111;
        client.send_to(f.port(), make_query("www.Other.net", type::a, qclass::in, o));
        auto fwd = next_forward(upstream);
        ASSERT_TRUE(fwd);
        auto fq = decode(fwd->message);
        ASSERT_TRUE(fq);
        EXPECT_EQ(fq->qname, "www.Other.net") << "question forwarded as sent";
        EXPECT_TRUE(fq->rd());
        upstream_ids.insert(fwd->id());
        upstream.send_to(fwd->from_port, upstream_answer(fwd->message));
        auto a = client.receive();
        ASSERT_TRUE(a);
        auto d = decode(*a);
        ASSERT_TRUE(d);
        EXPECT_EQ(d->id, 0x1111) << "relayed with the client's id";
        ASSERT_EQ(d->answer.size(), 1u);
        EXPECT_EQ(d->answer[0].rdata_text, "192.0.2.7");
        EXPECT_EQ(d->answer[0].ttl, 77u);
        EXPECT_TRUE(d->ra()) << "the upstream's flags are relayed";
    }
    // Fresh random ids: 8 draws from 65536 are practically never all the client's id or
    // all equal (probability < 2^-100 for a working generator).
    EXPECT_GE(upstream_ids.size(), 7u);
    EXPECT_FALSE(upstream_ids.count(0x1111) == 1 && upstream_ids.size() == 1);
    auto s = f.stats();
    EXPECT_EQ(s.forwarded, 8u);
    EXPECT_EQ(s.forward_answered, 8u);
}

// Issue 11 item 8: no open resolver. Only clients in forward_clients have names outside
// the zones forwarded; others get REFUSED over UDP and TCP and nothing reaches upstream.
TEST(dns_forwarder, clients_outside_the_allowed_prefixes_are_refused) {
    udp_client upstream;
    server_options o = forwarding_to(upstream.port());
    o.forward_clients = forward_acl({*ip_prefix::parse("10.0.0.0/8")});  // not 127.0.0.1
    server_fixture f(o, sample::authority());
    udp_client client;
    client.send_to(f.port(), make_query("www.other.net", type::a));
    auto a = client.receive();
    ASSERT_TRUE(a);
    EXPECT_EQ(decode(*a)->rcode, rcode::refused);
    tcp_client tcp(f.port());
    tcp.send(make_query("www.other.net", type::a));
    auto t = tcp.receive();
    ASSERT_TRUE(t);
    EXPECT_EQ(decode(*t)->rcode, rcode::refused);
    EXPECT_FALSE(next_forward(upstream, 200ms)) << "nothing forwarded";
    // Our own names are still answered for anyone.
    client.send_to(f.port(), make_query("www.example.org", type::a));
    auto own = client.receive();
    ASSERT_TRUE(own);
    EXPECT_EQ(decode(*own)->rcode, rcode::noerror);
    EXPECT_EQ(f.stats().forward_refused, 2u);
    EXPECT_EQ(f.stats().forwarded, 0u);
}

TEST(dns_forward_acl, prefixes_match_as_written) {
    const auto p = [](const char* t) { return ip_prefix::parse(t); };
    ASSERT_TRUE(p("10.1.2.3/8"));
    EXPECT_EQ(p("10.1.2.3/8")->to_string(), "10.0.0.0/8");
    EXPECT_EQ(p("192.0.2.1")->to_string(), "192.0.2.1/32");
    EXPECT_EQ(p("fd00::1/64")->to_string(), "fd00::/64");
    for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "fd00::/129", "10.0.0.0/8x",
                            "10.0.0.0/-1", "any", "10.0.0/8", "10.0.0.0/0008"}) {
        EXPECT_FALSE(p(bad)) << bad;
    }
    const forward_acl acl(
        {*p("10.0.0.0/24"), *p("172.16.0.0/12"), *p("fd00::/8"), *p("192.0.2.128/25")});
    const auto ok = [&](const char* a) { return acl.allows(boost::asio::ip::make_address(a)); };
    EXPECT_TRUE(ok("10.0.0.255"));
    EXPECT_FALSE(ok("10.0.1.0"));
    EXPECT_TRUE(ok("172.31.255.255"));
    EXPECT_FALSE(ok("172.32.0.0"));
    EXPECT_TRUE(ok("192.0.2.128"));
    EXPECT_FALSE(ok("192.0.2.127"));
    EXPECT_TRUE(ok("fdff::1"));
    EXPECT_FALSE(ok("fe80::1"));
    EXPECT_TRUE(ok("::ffff:10.0.0.7")) << "IPv4-mapped matched as IPv4";
    EXPECT_FALSE(ok("::ffff:11.0.0.7"));
    EXPECT_FALSE(forward_acl().allows(boost::asio::ip::make_address("127.0.0.1")));
    const forward_acl open({*p("0.0.0.0/0"), *p("::/0")});
    EXPECT_TRUE(open.allows(boost::asio::ip::make_address("203.0.113.9")));
    EXPECT_TRUE(open.allows(boost::asio::ip::make_address("2001:db8::9")));
    // The daemon's default always holds loopback.
    const forward_acl local(local_networks());
    EXPECT_TRUE(local.allows(boost::asio::ip::make_address("127.0.0.1")));
    EXPECT_TRUE(local.allows(boost::asio::ip::make_address("::1")));
}

TEST(dns_forwarder, spoofed_and_mismatched_replies_are_ignored) {
    udp_client upstream;
    server_fixture f(forwarding_to(upstream.port()), sample::authority());
    udp_client client;
    client.send_to(f.port(), make_query("www.other.net", type::a));
    auto fwd = next_forward(upstream);
    ASSERT_TRUE(fwd);
    // Same id and question, but from another port: ignored.
    udp_client spoofer;
    bytes forged = upstream_answer(fwd->message);
    forged.back() = 66;  // 192.0.2.66
    spoofer.send_to(fwd->from_port, forged);
    // Right source and id, wrong question: ignored.
    bytes other = upstream_answer(make_query("evil.other.net", type::a));
    store_be16(other.data(), fwd->id());
    upstream.send_to(fwd->from_port, other);
    // Right source and question, unknown id: ignored.
    bytes wrong_id = upstream_answer(fwd->message);
    store_be16(wrong_id.data(), static_cast<std::uint16_t>(fwd->id() + 1));
    upstream.send_to(fwd->from_port, wrong_id);
    EXPECT_FALSE(client.receive(150ms)) << "nothing relayed yet";
    // The genuine reply still gets through.
    upstream.send_to(fwd->from_port, upstream_answer(fwd->message));
    auto a = client.receive();
    ASSERT_TRUE(a);
    EXPECT_EQ(decode(*a)->answer.at(0).rdata_text, "192.0.2.7");
    EXPECT_EQ(f.stats().forward_replies_ignored, 3u);
}

TEST(dns_forwarder, timeout_answers_servfail) {
    udp_client upstream;  // never answers
    server_fixture f(forwarding_to(upstream.port()), sample::authority());
    udp_client client;
    auto t0 = std::chrono::steady_clock::now();
    client.send_to(f.port(), make_query("www.other.net", type::a));
    auto a = client.receive(3000ms);
    auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(a);
    EXPECT_EQ(decode(*a)->rcode, rcode::servfail);
    EXPECT_GE(waited, 250ms);
    EXPECT_LT(waited, 1500ms);
    auto s = f.stats();
    EXPECT_EQ(s.forward_timeouts, 1u);
    EXPECT_EQ(s.servfail, 1u);
    // A late reply after the timeout is ignored.
    auto fwd = next_forward(upstream);
    ASSERT_TRUE(fwd);
    upstream.send_to(fwd->from_port, upstream_answer(fwd->message));
    EXPECT_FALSE(client.receive(150ms));
    EXPECT_EQ(f.stats().forward_replies_ignored, 1u);
}

TEST(dns_forwarder, pending_limit_overflow_is_servfail) {
    udp_client upstream;
    server_options o = forwarding_to(upstream.port());
    o.max_forward_pending = 2;
    o.forward_timeout = 2000ms;
    server_fixture f(o, sample::authority());
    udp_client c1, c2, c3;
    c1.send_to(f.port(), make_query("a.other.net", type::a));
    c2.send_to(f.port(), make_query("b.other.net", type::a));
    auto f1 = next_forward(upstream), f2 = next_forward(upstream);
    ASSERT_TRUE(f1 && f2);
    c3.send_to(f.port(), make_query("c.other.net", type::a));
    auto a3 = c3.receive(500ms);
    ASSERT_TRUE(a3) << "over the limit: answered at once";
    EXPECT_EQ(decode(*a3)->rcode, rcode::servfail);
    EXPECT_EQ(f.stats().forward_overflow, 1u);
    // Answering one frees its slot for the next query.
    upstream.send_to(f1->from_port, upstream_answer(f1->message));
    ASSERT_TRUE(c1.receive());
    c3.send_to(f.port(), make_query("c.other.net", type::a));
    auto f3 = next_forward(upstream);
    ASSERT_TRUE(f3);
    upstream.send_to(f3->from_port, upstream_answer(f3->message));
    auto b3 = c3.receive();
    ASSERT_TRUE(b3);
    EXPECT_EQ(decode(*b3)->rcode, rcode::noerror);
}

TEST(dns_forwarder, large_upstream_answer_is_truncated_for_a_udp_client) {
    udp_client upstream;
    server_fixture f(forwarding_to(upstream.port()), sample::authority());
    udp_client client;
    client.send_to(f.port(), make_query("big.other.net", type::a));  // no EDNS: 512
    auto fwd = next_forward(upstream);
    ASSERT_TRUE(fwd);
    bytes big = upstream_answer(fwd->message, 40);  // 41 records: > 512 octets
    ASSERT_GT(big.size(), 512u);
    upstream.send_to(fwd->from_port, big);
    auto a = client.receive();
    ASSERT_TRUE(a);
    EXPECT_LE(a->size(), 512u);
    auto d = decode(*a);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->tc());
    EXPECT_TRUE(d->answer.empty());
    EXPECT_EQ(d->qname, "big.other.net");
}

// A TCP upstream on the same port as the UDP one: answers one framed query in full.
class tcp_upstream {
  public:
    explicit tcp_upstream(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 4) == 0;
    }
    ~tcp_upstream() { ::close(fd_); }
    bool ok() const { return ok_; }
    // Accepts one connection, reads one query, answers with `extra` + 1 records.
    std::optional<bytes> serve_one(std::size_t extra) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 2000) != 1) return std::nullopt;
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return std::nullopt;
        std::uint8_t prefix[2];
        bytes q;
        if (::recv(c, prefix, 2, MSG_WAITALL) == 2) {
            q.resize(load_be16(prefix));
            if (::recv(c, q.data(), q.size(), MSG_WAITALL) == static_cast<ssize_t>(q.size())) {
                bytes r = upstream_answer(q, extra);
                bytes framed;
                append16(framed, static_cast<std::uint16_t>(r.size()));
                framed.insert(framed.end(), r.begin(), r.end());
                (void)::send(c, framed.data(), framed.size(), MSG_NOSIGNAL);
            }
        }
        ::close(c);
        return q;
    }

  private:
    int fd_;
    bool ok_ = false;
};

TEST(dns_forwarder, tcp_client_is_retried_over_tcp_after_upstream_tc) {
    udp_client upstream;
    tcp_upstream upstream_tcp(upstream.port());
    ASSERT_TRUE(upstream_tcp.ok());
    server_fixture f(forwarding_to(upstream.port()), sample::authority());
    tcp_client client(f.port());
    query_options o;
    o.id = 0x7777;
    client.send(make_query("big.other.net", type::a, qclass::in, o));
    auto fwd = next_forward(upstream);
    ASSERT_TRUE(fwd);
    // The UDP answer is truncated: the server must ask again over TCP.
    bytes tc = upstream_answer(fwd->message, 0, true);
    tc.resize(12 + (tc.size() - 12 - 16));  // question only
    tc[6] = tc[7] = 0;
    upstream.send_to(fwd->from_port, tc);
    auto over_tcp = upstream_tcp.serve_one(40);
    ASSERT_TRUE(over_tcp);
    EXPECT_EQ(load_be16(over_tcp->data()), fwd->id()) << "same upstream id over TCP";
    auto a = client.receive();
    ASSERT_TRUE(a);
    auto d = decode(*a);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->id, 0x7777);
    EXPECT_FALSE(d->tc());
    EXPECT_EQ(d->answer.size(), 41u);
    EXPECT_EQ(f.stats().forward_tcp_retries, 1u);
}

TEST(dns_forwarder, tcp_client_forward_over_udp) {
    udp_client upstream;
    server_fixture f(forwarding_to(upstream.port()), sample::authority());
    tcp_client client(f.port());
    client.send(make_query("www.other.net", type::a));
    client.send(make_query("www.example.org", type::a));  // pipelined behind a forward
    auto first = client.receive();
    ASSERT_TRUE(first);
    EXPECT_EQ(decode(*first)->answer.at(0).rdata_text, "10.0.0.10") << "own answer is not held up";
    auto fwd = next_forward(upstream);
    ASSERT_TRUE(fwd);
    upstream.send_to(fwd->from_port, upstream_answer(fwd->message));
    auto second = client.receive();
    ASSERT_TRUE(second);
    EXPECT_EQ(decode(*second)->answer.at(0).rdata_text, "192.0.2.7");
}

}  // namespace
}  // namespace jitsu::dns
