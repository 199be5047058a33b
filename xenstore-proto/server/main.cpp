// jitsu-xenstored: a xenstored-compatible server on unix sockets (see --help).
#include <cstdio>
#include <exception>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "xenstored/options.h"
#include "xenstored/server.h"

int main(int argc, char** argv) {
    auto parsed = jitsu::xenstored::parse_options(argc, argv);
    if (!parsed.config) {
        std::fputs(parsed.message.c_str(), parsed.to_stderr ? stderr : stdout);
        return parsed.exit_code;
    }
    auto logger = spdlog::stderr_color_mt("jitsu-xenstored");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %n %l: %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(parsed.config->verbose ? spdlog::level::debug : spdlog::level::info);

    try {
        jitsu::xenstored::server s(std::move(*parsed.config));
        s.start();
        return s.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "jitsu-xenstored: %s\n", e.what());
        return 1;
    }
}
