// jitsu-dns: the DNS booter (see jitsu-dns/README.md and `jitsu-dns --help`).
#include <cstdio>
#include <exception>

#include "common/log.h"
#include "jitsu_dns/daemon.h"
#include "jitsu_dns/options.h"

int main(int argc, char** argv) {
    using namespace jitsu::dns;
    auto parsed = parse_command_line(argc, argv);
    if (!parsed.options) {
        std::fputs(parsed.message.c_str(), parsed.exit_code == exit_ok ? stdout : stderr);
        return parsed.exit_code;
    }
    jitsu::init_logging("jitsu-dns", parsed.options->verbosity, parsed.options->log);
    try {
        return run_daemon(*parsed.options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "jitsu-dns: %s\n", e.what());
        return exit_failure;
    }
}
