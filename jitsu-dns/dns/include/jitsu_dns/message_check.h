#pragma once
// A strict structural check of a whole DNS message: header, every question and record,
// every name (compression pointers followed, bounded), RDATA inside the message, nothing
// after the last record. For tests and the fuzzer: does a response we wrote parse back?

#include <cstddef>
#include <cstdint>
#include <span>

namespace jitsu::dns {

struct message_summary {
    std::uint16_t id = 0, flags = 0;
    std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
};

// True if `message` is well formed; fills `summary` from its header.
bool check_message(std::span<const std::uint8_t> message, message_summary& summary) noexcept;

}  // namespace jitsu::dns
