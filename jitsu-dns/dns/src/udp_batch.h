#pragma once
// Internal: fixed buffers for reading and answering UDP queries in batches with
// recvmmsg/sendmmsg — one system call per batch each way instead of two per query. Each
// query's destination address is read with it and its answer sent from that address
// (reply_source.h), so a wildcard socket answers from the address that was asked.

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "reply_source.h"

namespace jitsu::dns::detail {

class udp_batch {
  public:
    static constexpr std::size_t size = 32;
    // Larger datagrams are flagged MSG_TRUNC and dropped: no query needs more.
    static constexpr std::size_t max_query = 4096;

    explicit udp_batch(std::size_t max_answer);

    // Receives up to `size` datagrams without blocking; returns how many (0: none or error).
    std::size_t receive(int fd);
    std::span<const std::uint8_t> query(std::size_t i) const;
    bool query_truncated(std::size_t i) const;
    const sockaddr* source(std::size_t i) const;
    socklen_t source_length(std::size_t i) const;
    // The address message i was sent to: its answer leaves from there.
    const reply_source& destination(std::size_t i) const { return destinations_[i]; }

    // Answer buffer for message i; `queue` marks its first n octets to be sent to its source.
    std::span<std::uint8_t> answer_buffer(std::size_t i);
    void queue(std::size_t i, std::size_t n);
    // Sends every queued answer; returns how many could not be sent (socket full).
    std::size_t flush(int fd);

  private:
    std::size_t max_answer_;
    std::vector<std::uint8_t> in_, out_;
    std::array<mmsghdr, size> in_msgs_{}, out_msgs_{};
    std::array<iovec, size> in_iov_{}, out_iov_{};
    std::array<sockaddr_storage, size> addrs_{};
    std::array<reply_control, size> in_control_{}, out_control_{};
    std::array<reply_source, size> destinations_{};
    std::size_t queued_ = 0;
};

}  // namespace jitsu::dns::detail
