// synjitsu: the bridge proxy (see synjitsu/README.md and `synjitsu --help`).
#include <cstdio>
#include <exception>
#include <iostream>

#include "common/log.h"
#include "synjitsu/config.h"
#include "synjitsu/runners.h"

int main(int argc, char** argv) {
    using namespace jitsu::synjitsu;
    auto parsed = parse_command_line(argc, argv);
    if (!parsed.cfg) {
        std::fputs(parsed.message.c_str(), parsed.exit_code == exit_ok ? stdout : stderr);
        return parsed.exit_code;
    }
    const config& cfg = *parsed.cfg;
    jitsu::init_logging("synjitsu", cfg.verbosity, cfg.log);
    try {
        return cfg.offline() ? run_offline(cfg, std::cout) : run_live(cfg);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "synjitsu: %s\n", e.what());
        return exit_failure;
    }
}
