#pragma once
// Is anything in a network namespace listening on a TCP port? One sock_diag
// (NETLINK_SOCK_DIAG, inet_diag) dump of the LISTEN sockets per address family, over a
// socket created inside the namespace — a few microseconds, cheap enough to poll every
// fraction of a millisecond while a server starts. Does not depend on which process
// owns the socket (a server may fork or re-exec).

#include <cstdint>
#include <optional>
#include <system_error>

namespace jitsu::guest {

class listen_probe {
  public:
    // A probe for the caller's namespace.
    listen_probe();
    // A probe for the namespace of `netns_fd`.
    static listen_probe in(int netns_fd);

    listen_probe(listen_probe&& other) noexcept;
    listen_probe& operator=(listen_probe&& other) noexcept;
    listen_probe(const listen_probe&) = delete;
    listen_probe& operator=(const listen_probe&) = delete;
    ~listen_probe();

    // The port of a listening TCP socket (IPv4 or IPv6): `port` if given and something
    // listens on it, else the lowest listening port; nullopt if none. Errors are the
    // socket's.
    std::optional<std::uint16_t> listening(std::optional<std::uint16_t> port, std::error_code& ec);

  private:
    explicit listen_probe(int fd) : fd_(fd) {}
    int fd_ = -1;
    std::uint32_t seq_ = 0;
};

}  // namespace jitsu::guest
