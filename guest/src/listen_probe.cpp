#include "guest/listen_probe.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "guest/netns.h"

namespace jitsu::guest {

namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

// One dump of the family's LISTEN sockets; calls `on_port` per socket. Bounded: the
// reply ends with NLMSG_DONE, and at most 4096 messages are read.
template <class OnPort>
std::error_code dump(int fd, std::uint32_t seq, std::uint8_t family, OnPort&& on_port) {
    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } req{};
    req.header.nlmsg_len = sizeof(req);
    req.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.header.nlmsg_seq = seq;
    req.request.sdiag_family = family;
    req.request.sdiag_protocol = IPPROTO_TCP;
    req.request.idiag_states = 1U << TCP_LISTEN;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd, &req, sizeof(req), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) <
        0) {
        return last_error();
    }
    alignas(nlmsghdr) std::array<char, 16384> buf;
    for (int reads = 0; reads < 4096; ++reads) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        auto left = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != seq) continue;
            if (h->nlmsg_type == NLMSG_DONE) return {};
            if (h->nlmsg_type == NLMSG_ERROR) {
                nlmsgerr err{};
                if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(err))) {
                    std::memcpy(&err, NLMSG_DATA(h), sizeof(err));
                }
                return {err.error != 0 ? -err.error : EPROTO, std::generic_category()};
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
                h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
                continue;
            }
            inet_diag_msg msg{};
            std::memcpy(&msg, NLMSG_DATA(h), sizeof(msg));
            on_port(ntohs(msg.id.idiag_sport));
        }
    }
    return std::make_error_code(std::errc::message_size);
}

}  // namespace

listen_probe::listen_probe() {
    fd_ = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd_ < 0) throw std::system_error(last_error(), "socket(NETLINK_SOCK_DIAG)");
}

listen_probe listen_probe::in(int netns_fd) {
    std::optional<listen_probe> made;
    in_netns(netns_fd, [&] { made.emplace(); });
    return std::move(*made);
}

listen_probe::listen_probe(listen_probe&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), seq_(other.seq_) {}

listen_probe& listen_probe::operator=(listen_probe&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        seq_ = other.seq_;
    }
    return *this;
}

listen_probe::~listen_probe() {
    if (fd_ >= 0) ::close(fd_);
}

std::optional<std::uint16_t> listen_probe::listening(std::optional<std::uint16_t> port,
                                                     std::error_code& ec) {
    ec.clear();
    std::optional<std::uint16_t> found;
    auto on_port = [&](std::uint16_t p) {
        if (port) {
            if (p == *port) found = p;
        } else if (!found || p < *found) {
            found = p;
        }
    };
    for (std::uint8_t family : {std::uint8_t{AF_INET}, std::uint8_t{AF_INET6}}) {
        ec = dump(fd_, ++seq_, family, on_port);
        // A namespace without IPv6 answers ENOENT for that family: not an error.
        if (ec == std::errc::no_such_file_or_directory && family == AF_INET6) ec.clear();
        if (ec) return std::nullopt;
        if (found && port) return found;
    }
    return found;
}

}  // namespace jitsu::guest
