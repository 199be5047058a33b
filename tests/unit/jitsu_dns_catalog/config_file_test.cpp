// --config files: comments, blank lines, errors with FILE:LINE and the key, limits.
#include <gtest/gtest.h>

#include "jitsu_dns/catalog.h"
#include "temp_dir.h"

namespace jitsu::dns {
namespace {

using testing::temp_dir;

spec_error load_error(const std::filesystem::path& p) {
    try {
        load_config_file(p, catalog_defaults{});
    } catch (const spec_error& e) {
        return e;
    }
    ADD_FAILURE() << "accepted: " << p;
    return spec_error("", "", "");
}

TEST(jitsu_dns_config, comments_blank_lines_crlf_and_blanks_are_skipped) {
    temp_dir dir;
    const auto p = dir.write("vms.conf",
                             "# the web VMs\n"
                             "\n"
                             "   \t\n"
                             "name=www,dns=www.example.org,ip=10.0.0.10\r\n"
                             "  # indented comment, name=x\n"
                             "\tname=mail,dns=mail.example.org,ip=10.0.0.11,cmd=/bin/srv -p 25  \n"
                             "name=last,dns=last.example.org,ip=10.0.0.12");  // no final newline
    const auto vms = load_config_file(p, catalog_defaults{});
    ASSERT_EQ(vms.size(), 3U);
    EXPECT_EQ(vms[0].name, "www");
    EXPECT_EQ(vms[0].origin, p.string() + ":4");
    EXPECT_EQ(vms[1].name, "mail");
    EXPECT_EQ(vms[1].cmd, "/bin/srv -p 25");  // trailing blanks of the line trimmed
    EXPECT_EQ(vms[1].origin, p.string() + ":6");
    EXPECT_EQ(vms[2].origin, p.string() + ":7");
}

TEST(jitsu_dns_config, empty_file_is_an_empty_catalog) {
    temp_dir dir;
    EXPECT_TRUE(load_config_file(dir.write("empty", ""), catalog_defaults{}).empty());
    EXPECT_TRUE(
        load_config_file(dir.write("comments", "# nothing\n\n"), catalog_defaults{}).empty());
}

TEST(jitsu_dns_config, defaults_apply) {
    temp_dir dir;
    catalog_defaults d;
    d.ttl = 7;
    const auto vms = load_config_file(dir.write("f", "name=a,dns=a.example,ip=10.0.0.1\n"), d);
    ASSERT_EQ(vms.size(), 1U);
    EXPECT_EQ(vms[0].ttl, 7U);
}

TEST(jitsu_dns_config, errors_name_file_line_and_key) {
    temp_dir dir;
    const auto p = dir.write("vms.conf",
                             "# header\n"
                             "name=www,dns=www.example.org,ip=10.0.0.10\n"
                             "\n"
                             "name=bad,dns=bad.example.org,ip=10.0.0.300\n");
    const spec_error e = load_error(p);
    EXPECT_EQ(e.where(), p.string() + ":4");
    EXPECT_EQ(e.key(), "ip");
    EXPECT_EQ(std::string(e.what()), p.string() + ":4: ip: \"10.0.0.300\" is not an IPv4 address");
}

TEST(jitsu_dns_config, contradicting_keys_name_file_line_and_key) {
    temp_dir dir;
    const auto p = dir.write("vms.conf",
                             "name=www,dns=www.example.org,ip=10.0.0.10,wait_for_port=80\n"
                             "# host replay without synjitsu\n"
                             "name=h,dns=h.example.org,ip=10.0.0.11,replay=host,port=80\n");
    const spec_error e = load_error(p);
    EXPECT_EQ(e.where(), p.string() + ":3");
    EXPECT_EQ(e.key(), "replay");
    EXPECT_STREQ(e.what(),
                 (p.string() + ":3: replay: replay=host needs use_synjitsu=1 (synjitsu replays the "
                               "queued SYNs)")
                     .c_str());
}

TEST(jitsu_dns_config, unreadable_files) {
    temp_dir dir;
    const spec_error missing = load_error(dir.path() / "nope");
    EXPECT_EQ(std::string(missing.what()),
              (dir.path() / "nope").string() + ": cannot open: No such file or directory");
    const spec_error directory = load_error(dir.path());
    EXPECT_EQ(std::string(directory.what()), dir.path().string() + ": not a regular file");
}

TEST(jitsu_dns_config, size_and_line_limits) {
    temp_dir dir;
    // Exactly 1 MiB of comments is fine; one byte more is refused before parsing.
    std::string big(catalog_limits::max_config_bytes, '\n');
    big[0] = '#';
    EXPECT_TRUE(load_config_file(dir.write("big", big), catalog_defaults{}).empty());
    big += '\n';
    const auto p = dir.write("bigger", big);
    EXPECT_EQ(std::string(load_error(p).what()), p.string() + ": larger than 1048576 bytes");

    const auto long_line = dir.write(
        "long", "name=a,dns=a.example,ip=10.0.0.1\nname=b,kernel=" + std::string(5000, 'k') + "\n");
    const spec_error e = load_error(long_line);
    EXPECT_EQ(e.where(), long_line.string() + ":2");
    EXPECT_EQ(e.detail(), "too long (5014 bytes, at most 4096)");
}

TEST(jitsu_dns_config, at_most_max_vms) {
    temp_dir dir;
    std::string text;
    for (std::size_t i = 0; i <= catalog_limits::max_vms; ++i) {
        text +=
            "name=v" + std::to_string(i) + ",dns=v" + std::to_string(i) + ".example,ip=10.0.0.1\n";
    }
    const auto p = dir.write("many", text);
    const spec_error e = load_error(p);
    EXPECT_EQ(e.where(), p.string() + ":" + std::to_string(catalog_limits::max_vms + 1));
    EXPECT_EQ(e.detail(), "more than 4096 VMs");
}

TEST(jitsu_dns_config, nul_bytes_are_rejected) {
    temp_dir dir;
    const auto p = dir.write("nul", std::string("name=a,dns=a.example,ip=10.0.0.1\0x\n", 36));
    const spec_error e = load_error(p);
    EXPECT_EQ(e.where(), p.string() + ":1");
    EXPECT_EQ(e.detail(), "byte 32 is outside printable ASCII");
}

}  // namespace
}  // namespace jitsu::dns
