#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace jitsu {

spdlog::level::level_enum verbosity_to_level(int verbosity) {
    if (verbosity < 0) return spdlog::level::warn;
    if (verbosity == 0) return spdlog::level::info;
    if (verbosity == 1) return spdlog::level::debug;
    return spdlog::level::trace;
}

void init_logging(std::string_view program, int verbosity) {
    // Not registered under its name, so a second call cannot collide with the first;
    // set_default_logger replaces the previous default.
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(std::string(program), std::move(sink));
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n[%P] %^%l%$: %v");
    logger->set_level(verbosity_to_level(verbosity));
    // Errors must reach the terminal even if the process dies right after.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace jitsu
