// Logging setup.

#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/log_options.h"

namespace jitsu {
namespace {

TEST(common_log, verbosity_levels) {
    EXPECT_EQ(verbosity_to_level(-1), spdlog::level::warn);
    EXPECT_EQ(verbosity_to_level(0), spdlog::level::info);
    EXPECT_EQ(verbosity_to_level(1), spdlog::level::debug);
    EXPECT_EQ(verbosity_to_level(2), spdlog::level::trace);
    EXPECT_EQ(verbosity_to_level(7), spdlog::level::trace);
}

TEST(common_log, init_sets_the_default_logger_and_can_be_repeated) {
    init_logging("jitsu-test", 1);
    EXPECT_EQ(spdlog::default_logger()->name(), "jitsu-test");
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
    init_logging("jitsu-test", 0);  // again, same name: must not throw
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
    init_logging("other", 2);
    EXPECT_EQ(spdlog::default_logger()->name(), "other");
    EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::trace);
    testing::internal::CaptureStderr();
    spdlog::info("hello {}", 42);
    spdlog::default_logger()->flush();
    const std::string out = testing::internal::GetCapturedStderr();
    EXPECT_NE(out.find("other["), std::string::npos) << out;
    EXPECT_NE(out.find("hello 42"), std::string::npos) << out;
}

std::string escaped(std::string_view text) {
    spdlog::memory_buf_t buf;
    append_json_escaped(text, buf);
    return std::string(buf.data(), buf.size());
}

TEST(common_log, json_escaping_keeps_one_valid_line) {
    EXPECT_EQ(escaped("plain text"), "plain text");
    EXPECT_EQ(escaped("say \"hi\" \\ bye"), "say \\\"hi\\\" \\\\ bye");
    EXPECT_EQ(escaped("a\nb\rc\td"), "a\\nb\\rc\\td");
    EXPECT_EQ(escaped(std::string_view("\x01\x1f\x7f\0", 4)), "\\u0001\\u001f\\u007f\\u0000");
    // Valid UTF-8 passes through; invalid bytes (lone continuation, truncated sequence,
    // overlong form, surrogate) become U+FFFD each.
    EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    EXPECT_EQ(escaped("\x80"), "\xef\xbf\xbd");
    EXPECT_EQ(escaped("x\xe2\x82"), "x\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_EQ(escaped("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_EQ(escaped("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(common_log, parse_log_format_and_env_default) {
    EXPECT_EQ(parse_log_format("text"), log_format::text);
    EXPECT_EQ(parse_log_format("json"), log_format::json);
    EXPECT_FALSE(parse_log_format("JSON ").has_value());
    ::setenv(log_format_env, "json", 1);
    EXPECT_EQ(default_log_format(), log_format::json);
    ::setenv(log_format_env, "yaml", 1);
    EXPECT_EQ(default_log_format(), log_format::text);
    ::unsetenv(log_format_env);
    EXPECT_EQ(default_log_format(), log_format::text);
}

TEST(common_log, json_lines_have_ts_level_program_pid_msg) {
    init_logging("jitsu-\"test\"", 0, log_format::json);
    testing::internal::CaptureStderr();
    spdlog::warn("quote \" newline \n tab \t end");
    spdlog::debug("not shown at info");
    spdlog::default_logger()->flush();
    const std::string out = testing::internal::GetCapturedStderr();
    // One line, ending in a newline, no raw control characters inside.
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
    EXPECT_EQ(out.find('\t'), std::string::npos) << out;
    EXPECT_EQ(out.rfind("{\"ts\":\"", 0), 0U) << out;
    // ts: 2024-01-02T03:04:05.678Z
    ASSERT_GT(out.size(), 32U);
    EXPECT_EQ(out[11], '-');
    EXPECT_EQ(out[17], 'T');
    EXPECT_EQ(out[30], 'Z') << out;
    EXPECT_NE(out.find("\"level\":\"warning\",\"program\":\"jitsu-\\\"test\\\"\",\"pid\":"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("\"msg\":\"quote \\\" newline \\n tab \\t end\"}\n"), std::string::npos)
        << out;
    EXPECT_STREQ(std::getenv(log_format_env), "json");  // children log alike
    init_logging("jitsu-test", 0);
    EXPECT_STREQ(std::getenv(log_format_env), "text");
    ::unsetenv(log_format_env);
}

TEST(common_log, log_format_option_parses_text_and_json_only) {
    const auto parse = [](std::vector<std::string> args) {
        CLI::App app{"test", "test"};
        log_format format = log_format::text;
        add_log_format_option(app, format);
        std::vector<const char*> argv{"test"};
        for (const auto& a : args) argv.push_back(a.c_str());
        app.parse(static_cast<int>(argv.size()), argv.data());
        return format;
    };
    EXPECT_EQ(parse({}), log_format::text);
    EXPECT_EQ(parse({"--log-format", "json"}), log_format::json);
    EXPECT_EQ(parse({"--log-format=text"}), log_format::text);
    EXPECT_THROW(parse({"--log-format", "yaml"}), CLI::ValidationError);
    EXPECT_THROW(parse({"--log-format"}), CLI::ParseError);
}

}  // namespace
}  // namespace jitsu
