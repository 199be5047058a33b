#include "guest/packet_socket.h"

#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace jitsu::guest {

packet_socket::packet_socket() {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "AF_PACKET socket");
}

void packet_socket::bind(int ifindex) {
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = ifindex;
    addr.sll_protocol = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "bind AF_PACKET socket to interface " + std::to_string(ifindex));
    }
}

packet_socket::packet_socket(packet_socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

packet_socket& packet_socket::operator=(packet_socket&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

packet_socket::~packet_socket() {
    if (fd_ >= 0) ::close(fd_);
}

std::error_code packet_socket::send(std::span<const std::uint8_t> frame) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        const ssize_t n = ::send(fd_, frame.data(), frame.size(), 0);
        if (n == static_cast<ssize_t>(frame.size())) return {};
        if (n >= 0) return std::make_error_code(std::errc::message_size);
        if (errno != EINTR) return {errno, std::generic_category()};
    }
    return std::make_error_code(std::errc::interrupted);
}

}  // namespace jitsu::guest
