#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <iterator>
#include <memory>
#include <string>

namespace jitsu {

std::optional<log_format> parse_log_format(std::string_view name) {
    if (name == "text") return log_format::text;
    if (name == "json") return log_format::json;
    return std::nullopt;
}

log_format default_log_format() {
    const char* env = std::getenv(log_format_env);
    const auto parsed = parse_log_format(env != nullptr ? env : "");
    return parsed ? *parsed : log_format::text;
}

spdlog::level::level_enum verbosity_to_level(int verbosity) {
    if (verbosity < 0) return spdlog::level::warn;
    if (verbosity == 0) return spdlog::level::info;
    if (verbosity == 1) return spdlog::level::debug;
    return spdlog::level::trace;
}

namespace {

void append(spdlog::memory_buf_t& out, std::string_view s) {
    out.append(s.data(), s.data() + s.size());
}

// Length of the well-formed UTF-8 sequence at s[i] (1-4), or 0 if it is not one
// (overlong forms, surrogates and code points above U+10FFFF are not well formed).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    }
    return n;
}

}  // namespace

void append_json_escaped(std::string_view text, spdlog::memory_buf_t& out) {
    static constexpr char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(text, i);
            if (n == 0) {
                append(out, "\xEF\xBF\xBD");  // U+FFFD: the output stays valid UTF-8
                ++i;
            } else {
                append(out, text.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"':
                append(out, "\\\"");
                break;
            case '\\':
                append(out, "\\\\");
                break;
            case '\n':
                append(out, "\\n");
                break;
            case '\r':
                append(out, "\\r");
                break;
            case '\t':
                append(out, "\\t");
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                    out.append(esc, esc + sizeof esc);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
        ++i;
    }
}

void json_log_formatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    const auto since_epoch = msg.time.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs).count();
    const std::time_t t = secs.count();
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char ts[40];
    const std::size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    append(dest, "{\"ts\":\"");
    append(dest, std::string_view(ts, n));
    fmt::format_to(std::back_inserter(dest), ".{:03}Z\",\"level\":\"", millis);
    const auto level = spdlog::level::to_string_view(msg.level);
    append(dest, std::string_view(level.data(), level.size()));
    append(dest, "\",\"program\":\"");
    append_json_escaped(std::string_view(msg.logger_name.data(), msg.logger_name.size()), dest);
    fmt::format_to(std::back_inserter(dest), "\",\"pid\":{},\"msg\":\"", ::getpid());
    append_json_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    append(dest, "\"}\n");
}

std::unique_ptr<spdlog::formatter> json_log_formatter::clone() const {
    return std::make_unique<json_log_formatter>();
}

void init_logging(std::string_view program, int verbosity, log_format format) {
    // Not registered under its name, so a second call cannot collide with the first;
    // set_default_logger replaces the previous default.
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(std::string(program), std::move(sink));
    if (format == log_format::json) {
        logger->set_formatter(std::make_unique<json_log_formatter>());
    } else {
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n[%P] %^%l%$: %v");
    }
    logger->set_level(verbosity_to_level(verbosity));
    // Errors must reach the terminal even if the process dies right after.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
    // Children (jitsu-netvm under jitsu-dns) inherit the format. Called at start-up,
    // before any thread exists.
    ::setenv(log_format_env, format == log_format::json ? "json" : "text", 1);
}

}  // namespace jitsu
