// Logging setup.

#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

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

}  // namespace
}  // namespace jitsu
