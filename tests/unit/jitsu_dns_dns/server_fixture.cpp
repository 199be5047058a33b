#include "server_fixture.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstdio>
#include <future>
#include <stdexcept>

namespace jitsu::dns::test {

server_options local_options() {
    server_options o;
    o.bind = {boost::asio::ip::make_address("127.0.0.1")};
    o.port = 0;
    return o;
}

server_fixture::server_fixture(server_options o, authority_config a, vm_gate* gate)
    : work_(boost::asio::make_work_guard(io)) {
    server_ = std::make_unique<server>(io, std::move(o), std::move(a), gate);
    port_ = server_->udp_port();
    server_->start();
    thread_ = std::thread([this] { io.run(); });
}

server_fixture::~server_fixture() {
    on_loop([this] { server_->stop(); });
    work_.reset();
    io.stop();
    thread_.join();
    server_.reset();
}

void server_fixture::on_loop(const std::function<void()>& f) {
    std::promise<void> done;
    boost::asio::post(io, [&] {
        f();
        done.set_value();
    });
    done.get_future().wait();
}

server_stats server_fixture::stats() {
    server_stats s;
    on_loop([&] { s = server_->stats(); });
    return s;
}

namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// Text address and port → socket address; family AF_UNSPEC if the text is no address.
sockaddr_storage socket_address(const std::string& ip, std::uint16_t port, socklen_t& len) {
    sockaddr_storage s{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
    if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        len = 0;
    }
    return s;
}

// A socket of `to`'s family, bound to `from` when given, connected to `to`:`port`.
int connected_socket(int type, const std::string& from, const std::string& to, std::uint16_t port) {
    socklen_t to_len = 0, from_len = 0;
    sockaddr_storage dst = socket_address(to, port, to_len);
    if (to_len == 0) throw std::runtime_error("not an address: " + to);
    int fd = ::socket(dst.ss_family, type, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    if (!from.empty()) {
        sockaddr_storage src = socket_address(from, 0, from_len);
        if (from_len == 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&src), from_len) != 0) {
            ::close(fd);
            throw std::runtime_error("cannot bind to " + from);
        }
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), to_len) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

}  // namespace

udp_client::udp_client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in a = loopback(port);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("udp_client: cannot bind");
}
udp_client::~udp_client() { ::close(fd_); }

void udp_client::send_to(std::uint16_t port, const bytes& b) {
    sockaddr_in a = loopback(port);
    (void)::sendto(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

std::optional<bytes> udp_client::receive(std::chrono::milliseconds timeout,
                                         std::uint16_t* from_port) {
    if (!wait_readable(fd_, timeout)) return std::nullopt;
    bytes b(65536);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    b.resize(static_cast<std::size_t>(n));
    if (from_port != nullptr) *from_port = ntohs(from.sin_port);
    return b;
}

std::uint16_t udp_client::port() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

std::optional<bytes> udp_ask(std::uint16_t port, const bytes& query,
                             std::chrono::milliseconds timeout) {
    udp_client c;
    c.send_to(port, query);
    return c.receive(timeout);
}

tcp_client::tcp_client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}
tcp_client::tcp_client(const std::string& to, std::uint16_t port, const std::string& from)
    : fd_(connected_socket(SOCK_STREAM, from, to, port)) {}

tcp_client::~tcp_client() {
    if (fd_ >= 0) ::close(fd_);
}

void tcp_client::send_raw(const bytes& b) {
    std::size_t sent = 0;
    while (sent < b.size()) {
        ssize_t n = ::send(fd_, b.data() + sent, b.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
    }
}

void tcp_client::send(const bytes& message) {
    bytes framed;
    append16(framed, static_cast<std::uint16_t>(message.size()));
    framed.insert(framed.end(), message.begin(), message.end());
    send_raw(framed);
}

bool tcp_client::read_exact(std::uint8_t* p, std::size_t n, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t got = 0;
    while (got < n) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !wait_readable(fd_, left)) return false;
        ssize_t r = ::recv(fd_, p + got, n - got, 0);
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

std::optional<bytes> tcp_client::receive(std::chrono::milliseconds timeout) {
    std::uint8_t prefix[2];
    if (!read_exact(prefix, 2, timeout)) return std::nullopt;
    bytes b(load_be16(prefix));
    if (!read_exact(b.data(), b.size(), timeout)) return std::nullopt;
    return b;
}

bool tcp_client::closed_by_peer(std::chrono::milliseconds timeout) {
    if (!wait_readable(fd_, timeout)) return false;
    std::uint8_t c;
    ssize_t r = ::recv(fd_, &c, 1, MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN);  // FIN or RST
}

bool add_loopback_addresses(const std::vector<std::string>& addresses) {
    const std::string present = run_command("ip -o addr show dev lo");
    for (const auto& a : addresses) {
        if (present.find(" " + a + " ") != std::string::npos) continue;  // left untouched
        // nodad: an IPv6 address is usable without duplicate address detection.
        const std::string command = "ip addr add " + a + " dev lo" +
                                    (a.find(':') != std::string::npos ? " nodad" : "") + " 2>&1";
        const std::string out = run_command(command);
        if (!out.empty()) return false;
    }
    // The kernel installs an IPv6 address's local route a moment after `ip` returns (from a
    // work queue, even with nodad), and until then packets to it follow the prefix route
    // and are lost: wait until every address has its local route (bounded).
    for (const auto& a : addresses) {
        const std::string address = a.substr(0, a.find('/'));
        const bool v6 = address.find(':') != std::string::npos;
        const std::string command =
            std::string("ip ") + (v6 ? "-6" : "-4") + " route show table local " + address;
        bool installed = false;
        for (int i = 0; i < 200 && !installed; ++i) {
            installed = run_command(command).find("local " + address + " ") != std::string::npos;
            if (!installed) std::this_thread::sleep_for(10ms);
        }
        if (!installed) return false;
    }
    return true;
}

std::optional<bytes> udp_ask_at(const std::string& from, const std::string& to, std::uint16_t port,
                                const bytes& query, std::chrono::milliseconds timeout) {
    int fd = connected_socket(SOCK_DGRAM, from, to, port);
    if (fd < 0) return std::nullopt;
    std::optional<bytes> answer;
    if (::send(fd, query.data(), query.size(), 0) == static_cast<ssize_t>(query.size()) &&
        wait_readable(fd, timeout)) {
        bytes b(65536);
        ssize_t n = ::recv(fd, b.data(), b.size(), MSG_DONTWAIT);
        if (n > 0) {
            b.resize(static_cast<std::size_t>(n));
            answer = std::move(b);
        }
    }
    ::close(fd);
    return answer;
}

std::string run_command(const std::string& command) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
}

}  // namespace jitsu::dns::test
