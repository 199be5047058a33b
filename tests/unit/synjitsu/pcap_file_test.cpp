// Capture files: times are read back as written, also at and after 2^31 s (2038), where
// libpcap's signed seconds would otherwise turn into huge numbers (issue 11 item 7).
#include "synjitsu/pcap_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace jitsu::synjitsu {
namespace {

TEST(synjitsu_pcap_file, times_round_trip_across_2038_and_up_to_2106) {
    const std::string path =
        ::testing::TempDir() + "/synjitsu-pcap-time-" + std::to_string(::getpid()) + ".pcap";
    const std::vector<std::uint64_t> times{
        1'700'000'000'123'456'789ULL,  // 2023
        2'147'483'647'999'999'999ULL,  // the last second before 2^31
        2'147'483'648'000'000'000ULL,  // 2^31 s: 2038-01-19T03:14:08Z
        3'000'000'000'000'000'001ULL,  // 2065
        4'294'967'295'999'999'999ULL,  // the last second a pcap file can hold (2106)
    };
    const std::vector<std::uint8_t> frame(60, 0xab);
    {
        pcap_file_writer out(path);
        for (const auto t : times) ASSERT_TRUE(out.send(frame, t));
        out.close();
    }
    pcap_file_reader in(path);
    std::span<const std::uint8_t> got;
    std::uint64_t t = 0;
    for (const auto want : times) {
        ASSERT_TRUE(in.next(got, t));
        EXPECT_EQ(t, want);
        EXPECT_EQ(got.size(), frame.size());
    }
    EXPECT_FALSE(in.next(got, t));
    std::remove(path.c_str());
}

}  // namespace
}  // namespace jitsu::synjitsu
