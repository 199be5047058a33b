#pragma once
// The ISN the VM's SYN/ACK will use (tx_isn), chosen per 4-tuple with a keyed hash
// (SipHash-2-4, RFC 6528's recommendation of a keyed function of the connection): a
// retransmitted SYN gets the same ISN, an off-path observer cannot predict it. Live,
// the key is random per run; offline it is fixed, so output is reproducible.

#include <array>
#include <cstdint>

#include "common/ip_address.h"

namespace jitsu::synjitsu {

using isn_key = std::array<std::uint64_t, 2>;

// The fixed key of offline runs and tests.
inline constexpr isn_key offline_isn_key = {0x73796e6a69747375ULL, 0x6f66666c696e6521ULL};

// A key from the system's random source (getrandom); throws if unavailable.
isn_key random_isn_key();

// SipHash-2-4 over arbitrary bytes (exposed for tests against the reference vectors).
std::uint64_t siphash24(const isn_key& key, const std::uint8_t* data, std::size_t size);

// tx_isn for a connection: the low 32 bits of SipHash over local ip/port, remote ip/port.
std::uint32_t pick_isn(const isn_key& key, const four_tuple& tuple);

}  // namespace jitsu::synjitsu
