#pragma once
// Logging setup shared by every daemon: spdlog to stderr, one line per event, as text
// (journald and terminals) or as JSON lines (log shippers): --log-format text|json.

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <optional>
#include <string>
#include <string_view>

namespace jitsu {

enum class log_format { text, json };

// "text" or "json"; nullopt for anything else.
std::optional<log_format> parse_log_format(std::string_view name);

// The environment variable that gives the default of --log-format (so jitsu-netvm
// processes started by jitsu-dns log like their parent, and one systemd drop-in switches
// every daemon). init_logging sets it to the format in use.
inline constexpr const char* log_format_env = "JITSU_LOG_FORMAT";

// --log-format's default: $JITSU_LOG_FORMAT when it names a format, else text.
log_format default_log_format();

// 0 = info, 1 = debug, 2+ = trace; negative = warnings and errors only.
spdlog::level::level_enum verbosity_to_level(int verbosity);

// Makes a stderr logger named `program` the spdlog default, at the level for
// `verbosity`. text: "2024-01-02T03:04:05.678 program[pid] level: message".
// json: one object per line, {"ts":"2024-01-02T03:04:05.678Z","level":"info",
// "program":"jitsu-dns","pid":12,"msg":"..."} (UTC; msg escaped per RFC 8259, bytes that
// are not UTF-8 become U+FFFD). Safe to call again: the previous default is replaced.
void init_logging(std::string_view program, int verbosity, log_format format = log_format::text);

// The JSON-lines formatter init_logging installs (exposed for tests).
class json_log_formatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

// Appends `text` to `out` as the body of a JSON string (no quotes): ", \, control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
void append_json_escaped(std::string_view text, spdlog::memory_buf_t& out);

}  // namespace jitsu
