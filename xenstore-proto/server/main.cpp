// jitsu-xenstored: a xenstored-compatible server on unix sockets (see --help).
#include <cstdio>
#include <exception>

#include "common/log.h"
#include "common/service_notify.h"
#include "xenstored/options.h"
#include "xenstored/server.h"

int main(int argc, char** argv) {
    auto parsed = jitsu::xenstored::parse_options(argc, argv);
    if (!parsed.config) {
        std::fputs(parsed.message.c_str(), parsed.to_stderr ? stderr : stdout);
        return parsed.exit_code;
    }
    jitsu::init_logging("jitsu-xenstored", parsed.config->verbose ? 1 : 0, parsed.log);

    try {
        jitsu::xenstored::server s(std::move(*parsed.config));
        s.start();
        jitsu::notify_ready("listening");
        const int rc = s.run();
        jitsu::notify_stopping();
        return rc;
    } catch (const std::exception& e) {
        jitsu::notify_stopping();
        std::fprintf(stderr, "jitsu-xenstored: %s\n", e.what());
        return 1;
    }
}
