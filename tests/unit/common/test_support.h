#pragma once
// Helpers shared by the common/ tests.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jitsu::test {

using bytes = std::vector<std::uint8_t>;

// Hex with optional spaces/newlines for readability ("4500 0014 ..."); aborts the test
// binary on bad input, since that is a bug in the test itself.
bytes hex(std::string_view text);

// Concatenation: cat(a, b, c).
inline bytes cat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// The committed Scapy vectors (tests/scapy/vectors/common_vectors.txt), in file order.
struct named_frame {
    std::string name;
    bytes frame;
};
const std::vector<named_frame>& scapy_vectors();
const bytes& scapy_vector(std::string_view name);

}  // namespace jitsu::test
