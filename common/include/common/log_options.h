#pragma once
// `--log-format text|json`, one definition for every daemon's CLI11 command line.

#include <CLI/CLI.hpp>

#include "common/log.h"

namespace jitsu {

// Adds --log-format to `app`, writing the choice to `format` (whose value on entry should
// be default_log_format()).
inline CLI::Option* add_log_format_option(CLI::App& app, log_format& format) {
    return app
        .add_option_function<std::string>(
            "--log-format",
            [&format](const std::string& name) { format = *parse_log_format(name); },
            "Log lines as text or json (JSON lines: ts, level, program, pid, msg; default: "
            "$JITSU_LOG_FORMAT, else text)")
        ->check(CLI::IsMember({"text", "json"}))
        ->type_name("text|json");
}

}  // namespace jitsu
