#include "udp_batch.h"

#include <cerrno>

namespace jitsu::dns::detail {

udp_batch::udp_batch(std::size_t max_answer)
    : max_answer_(max_answer), in_(size * max_query), out_(size * max_answer) {}

std::size_t udp_batch::receive(int fd) {
    for (std::size_t i = 0; i < size; ++i) {
        in_iov_[i] = {in_.data() + i * max_query, max_query};
        msghdr& h = in_msgs_[i].msg_hdr;
        h = {};
        h.msg_name = &addrs_[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_iov = &in_iov_[i];
        h.msg_iovlen = 1;
        h.msg_control = in_control_[i].bytes.data();
        h.msg_controllen = in_control_[i].bytes.size();
        in_msgs_[i].msg_len = 0;
    }
    queued_ = 0;
    int n = ::recvmmsg(fd, in_msgs_.data(), size, MSG_DONTWAIT, nullptr);
    if (n <= 0) return 0;
    for (int i = 0; i < n; ++i) destinations_[i] = destination_of(in_msgs_[i].msg_hdr);
    return static_cast<std::size_t>(n);
}

std::span<const std::uint8_t> udp_batch::query(std::size_t i) const {
    return {in_.data() + i * max_query, in_msgs_[i].msg_len};
}
bool udp_batch::query_truncated(std::size_t i) const {
    return (in_msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}
const sockaddr* udp_batch::source(std::size_t i) const {
    return reinterpret_cast<const sockaddr*>(&addrs_[i]);
}
socklen_t udp_batch::source_length(std::size_t i) const { return in_msgs_[i].msg_hdr.msg_namelen; }

std::span<std::uint8_t> udp_batch::answer_buffer(std::size_t i) {
    return {out_.data() + i * max_answer_, max_answer_};
}

void udp_batch::queue(std::size_t i, std::size_t n) {
    out_iov_[queued_] = {out_.data() + i * max_answer_, n};
    msghdr& h = out_msgs_[queued_].msg_hdr;
    h = {};
    h.msg_name = &addrs_[i];
    h.msg_namelen = in_msgs_[i].msg_hdr.msg_namelen;
    h.msg_iov = &out_iov_[queued_];
    h.msg_iovlen = 1;
    set_reply_source(h, destinations_[i], out_control_[queued_]);
    ++queued_;
}

std::size_t udp_batch::flush(int fd) {
    std::size_t sent = 0;
    while (sent < queued_) {
        int n = ::sendmmsg(fd, out_msgs_.data() + sent, static_cast<unsigned>(queued_ - sent),
                           MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        // Socket buffer full (EAGAIN) or a per-datagram error: skip that one answer.
        ++sent;
        std::size_t lost = 1;
        while (sent < queued_) {
            int m = ::sendmmsg(fd, out_msgs_.data() + sent, static_cast<unsigned>(queued_ - sent),
                               MSG_DONTWAIT);
            if (m <= 0) {
                ++sent;
                ++lost;
                continue;
            }
            sent += static_cast<std::size_t>(m);
        }
        queued_ = 0;
        return lost;
    }
    queued_ = 0;
    return 0;
}

}  // namespace jitsu::dns::detail
