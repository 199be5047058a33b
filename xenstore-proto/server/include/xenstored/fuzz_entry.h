// The entry shared by the libFuzzer target (fuzz_xenstored_requests) and the replay
// unit test: arbitrary bytes through the framing and the request handler, against an
// in-memory store, as three clients (two dom0, one unprivileged domain 5).
//
// The input is cut into chunks; each chunk's first byte picks the client (low 2 bits)
// and the chunk's length (the rest), so requests can arrive split or pipelined. A
// client whose stream is closed (oversized length) is replaced by a new one. After
// every chunk the output is checked to be well-formed messages; at the end the store's
// structure is checked. Any broken invariant aborts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace jitsu::xenstored {

void fuzz_one_input(std::span<const std::uint8_t> data);

}  // namespace jitsu::xenstored
