// jitsu-xenstored's command line (CLI11) -> server_config.
#pragma once

#include <optional>
#include <string>

#include "common/log.h"
#include "xenstored/server.h"

namespace jitsu::xenstored {

struct parsed_options {
    std::optional<server_config> config;  // set: run the server
    int exit_code = 0;                    // otherwise: exit with this...
    std::string message;                  // ...after printing this
    bool to_stderr = false;
    log_format log = default_log_format();  // --log-format
};

// Bad flags give exit code 2 and a one-line message; --help gives 0 and the help.
parsed_options parse_options(int argc, const char* const* argv);

}  // namespace jitsu::xenstored
