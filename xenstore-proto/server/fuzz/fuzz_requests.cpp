// libFuzzer target: bytes through jitsu-xenstored's framing and request handler.
#include <cstddef>
#include <cstdint>

#include "xenstored/fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    jitsu::xenstored::fuzz_one_input({data, size});
    return 0;
}
