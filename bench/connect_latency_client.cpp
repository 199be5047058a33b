// connect_latency_client: the measurer of bench/connect-latency, run in a client
// namespace. One cold-start story, timed with CLOCK_MONOTONIC from the moment the DNS
// query is sent:
//
//   connect_latency_client --dns-server IP --name NAME [--port 80] [--ip IP]
//                          [--dns-timeout S] [--timeout S]
//
//   1. an A query for NAME to --dns-server:53 over UDP (built and parsed by glibc's
//      libresolv: res_mkquery / ns_initparse; one query, no retransmission: a lost
//      answer is a failed run) -> dns_ms
//   2. connect() to the answer's address (or to --ip, skipping DNS) -> connect_ms, and
//      TCP_INFO right after: tcpi_total_retrans counts the SYNs retransmitted
//   3. "GET / HTTP/1.1" -> ttfb_ms at the first response byte; the status line is read
//      (the response is read to its end, at most 64 KiB)
//
// Prints one line of key=value fields (ok=1|0, dns_ms, connect_ms, ttfb_ms, tcp_ms =
// connect_ms - dns_ms, syn_retrans, status, ip, error, and connected_unix_us: the
// CLOCK_REALTIME moment connect() completed, to line up with other processes' logs, -1
// if it did not) and exits 0 when the run connected and got a status line, 1 otherwise,
// 2 on bad arguments. Every wait is bounded by --timeout (whole run) and --dns-timeout.
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <resolv.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace {

using clk = std::chrono::steady_clock;  // CLOCK_MONOTONIC

double ms_since(clk::time_point t0) {
    return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

// Waits for `events` on fd until `deadline`; false on timeout.
bool wait_for(int fd, short events, clk::time_point deadline) {
    for (int spins = 0; spins < 100000; ++spins) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clk::now());
        if (left.count() < 0) return false;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
    return false;
}

class fd_guard {
  public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

struct result {
    bool ok = false;
    double dns_ms = -1, connect_ms = -1, ttfb_ms = -1;
    long syn_retrans = -1;
    long long connected_unix_us = -1;
    int status = 0;
    std::string ip, error;
};

// The A lookup: the address, or nullopt with r.error set.
std::optional<in_addr> resolve(const std::string& name, in_addr server, clk::time_point deadline,
                               result& r) {
    unsigned char query[NS_PACKETSZ];
    const int qlen = ::res_mkquery(ns_o_query, name.c_str(), ns_c_in, ns_t_a, nullptr, 0, nullptr,
                                   query, sizeof query);
    if (qlen < NS_HFIXEDSZ) {
        r.error = "bad_name";
        return std::nullopt;
    }
    std::uint16_t id = 0;
    if (::getrandom(&id, sizeof id, 0) != sizeof id) id = static_cast<std::uint16_t>(::getpid());
    std::memcpy(query, &id, sizeof id);

    const fd_guard s{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    sa.sin_addr = server;
    if (s.get() < 0 || ::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::send(s.get(), query, static_cast<std::size_t>(qlen), 0) != qlen) {
        r.error = std::string{"dns_send:"} + std::strerror(errno);
        return std::nullopt;
    }
    unsigned char answer[4096];
    for (int datagrams = 0; datagrams < 16; ++datagrams) {
        if (!wait_for(s.get(), POLLIN, deadline)) {
            r.error = "dns_timeout";
            return std::nullopt;
        }
        const ssize_t n = ::recv(s.get(), answer, sizeof answer, 0);
        if (n < NS_HFIXEDSZ || std::memcmp(answer, &id, sizeof id) != 0) continue;  // not ours
        ns_msg msg{};
        if (::ns_initparse(answer, static_cast<int>(n), &msg) != 0) {
            r.error = "dns_malformed";
            return std::nullopt;
        }
        if (ns_msg_getflag(msg, ns_f_rcode) != ns_r_noerror) {
            r.error = "dns_rcode_" + std::to_string(ns_msg_getflag(msg, ns_f_rcode));
            return std::nullopt;
        }
        for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
            ns_rr rr{};
            if (::ns_parserr(&msg, ns_s_an, i, &rr) != 0) break;
            if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
                in_addr a{};
                std::memcpy(&a, ns_rr_rdata(rr), 4);
                return a;
            }
        }
        r.error = "dns_no_a_record";
        return std::nullopt;
    }
    r.error = "dns_no_matching_answer";
    return std::nullopt;
}

// Reads the status code out of "HTTP/1.x NNN ...".
int status_of(const char* buf, std::size_t len) {
    if (len < 12 || std::memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') return 0;
    int code = 0;
    for (std::size_t i = 9; i < 12; ++i) {
        if (buf[i] < '0' || buf[i] > '9') return 0;
        code = code * 10 + (buf[i] - '0');
    }
    return code;
}

void fetch(in_addr ip, std::uint16_t port, const std::string& host, clk::time_point t0,
           clk::time_point deadline, result& r) {
    const fd_guard s{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (s.get() < 0) {
        r.error = std::string{"socket:"} + std::strerror(errno);
        return;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr = ip;
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS) {
        r.error = std::string{"connect:"} + std::strerror(errno);
        return;
    }
    const bool writable = wait_for(s.get(), POLLOUT, deadline);
    const double connect_ms = ms_since(t0);
    const auto connected_at = std::chrono::system_clock::now();
    tcp_info ti{};
    socklen_t tlen = sizeof ti;
    if (::getsockopt(s.get(), IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0)
        r.syn_retrans = static_cast<long>(ti.tcpi_total_retrans);
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (!writable || err != 0) {
        r.error = !writable ? "connect_timeout" : std::string{"connect:"} + std::strerror(err);
        return;
    }
    r.connect_ms = connect_ms;
    r.connected_unix_us =
        std::chrono::duration_cast<std::chrono::microseconds>(connected_at.time_since_epoch())
            .count();

    const std::string req = "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
    if (::send(s.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        r.error = std::string{"send:"} + std::strerror(errno);
        return;
    }
    char buf[65536];
    std::size_t got = 0;
    while (got < sizeof buf) {
        if (!wait_for(s.get(), POLLIN, deadline)) {
            if (got == 0) r.error = "response_timeout";
            break;
        }
        const ssize_t n = ::recv(s.get(), buf + got, sizeof buf - got, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) {
            if (n < 0 && got == 0) r.error = std::string{"recv:"} + std::strerror(errno);
            break;
        }
        if (got == 0) r.ttfb_ms = ms_since(t0);
        got += static_cast<std::size_t>(n);
    }
    r.status = status_of(buf, got);
    if (got > 0 && r.status == 0) r.error = "bad_status_line";
    r.ok = r.status != 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "connect_latency_client: DNS -> connect -> first byte, timed (bench/connect-latency)"};
    std::string dns_server, name, fixed_ip;
    std::uint16_t port = 80;
    double dns_timeout = 10, timeout = 20;
    app.add_option("--dns-server", dns_server, "IPv4 address of the DNS server (port 53)");
    app.add_option("--name", name, "the name to resolve (A record)");
    app.add_option("--ip", fixed_ip, "connect to this IPv4 address instead of resolving");
    app.add_option("--port", port, "TCP port (default 80)");
    app.add_option("--dns-timeout", dns_timeout, "seconds to wait for the answer (default 10)")
        ->check(CLI::Range(0.01, 60.0));
    app.add_option("--timeout", timeout, "seconds for the whole run (default 20)")
        ->check(CLI::Range(0.01, 120.0));
    CLI11_PARSE(app, argc, argv);

    in_addr server{}, target{};
    if (fixed_ip.empty() &&
        (name.empty() || ::inet_pton(AF_INET, dns_server.c_str(), &server) != 1)) {
        std::fprintf(stderr,
                     "connect_latency_client: need --ip, or --name with an IPv4 --dns-server\n");
        return 2;
    }
    if (!fixed_ip.empty() && ::inet_pton(AF_INET, fixed_ip.c_str(), &target) != 1) {
        std::fprintf(stderr, "connect_latency_client: bad --ip '%s'\n", fixed_ip.c_str());
        return 2;
    }

    result r;
    const auto t0 = clk::now();
    const auto deadline =
        t0 + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(timeout));
    if (fixed_ip.empty()) {
        const auto dns_deadline =
            std::min(deadline, t0 + std::chrono::duration_cast<clk::duration>(
                                        std::chrono::duration<double>(dns_timeout)));
        const auto a = resolve(name, server, dns_deadline, r);
        if (a) {
            r.dns_ms = ms_since(t0);
            target = *a;
        }
    } else {
        r.dns_ms = 0;
    }
    if (r.dns_ms >= 0) {
        char text[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &target, text, sizeof text);
        r.ip = text;
        fetch(target, port, name.empty() ? r.ip : name, t0, deadline, r);
    }
    const double tcp_ms = r.connect_ms >= 0 ? r.connect_ms - r.dns_ms : -1;
    std::printf(
        "ok=%d dns_ms=%.3f connect_ms=%.3f tcp_ms=%.3f ttfb_ms=%.3f syn_retrans=%ld status=%d "
        "ip=%s error=%s connected_unix_us=%lld\n",
        r.ok ? 1 : 0, r.dns_ms, r.connect_ms, tcp_ms, r.ttfb_ms, r.syn_retrans, r.status,
        r.ip.empty() ? "-" : r.ip.c_str(), r.error.empty() ? "-" : r.error.c_str(),
        r.connected_unix_us);
    return r.ok ? 0 : 1;
}
