#pragma once
// Logging setup shared by every daemon: spdlog to stderr, one compact line per event.

#include <spdlog/common.h>

#include <string_view>

namespace jitsu {

// 0 = info, 1 = debug, 2+ = trace; negative = warnings and errors only.
spdlog::level::level_enum verbosity_to_level(int verbosity);

// Makes a stderr logger named `program` the spdlog default, at the level for
// `verbosity`, with the pattern "2024-01-02T03:04:05.678 program[pid] level: message".
// Safe to call again (tests, re-configuration): the previous default is replaced.
void init_logging(std::string_view program, int verbosity);

}  // namespace jitsu
