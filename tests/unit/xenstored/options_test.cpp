// jitsu-xenstored's command line.
#include "xenstored/options.h"

#include <gtest/gtest.h>

#include <vector>

namespace jitsu::xenstored {
namespace {

parsed_options parse(std::vector<const char*> args) {
    args.insert(args.begin(), "jitsu-xenstored");
    return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(xenstored_options, defaults) {
    auto p = parse({});
    ASSERT_TRUE(p.config);
    EXPECT_EQ(p.config->socket_path, "/run/xenstored/socket");
    EXPECT_TRUE(p.config->persist_path.empty());
    EXPECT_FALSE(p.config->verbose);
    EXPECT_EQ(p.config->quotas.watches, 128u);
}

TEST(xenstored_options, all_flags) {
    auto p = parse({"--socket",
                    "/tmp/s",
                    "--persist",
                    "/tmp/p",
                    "--pid-file",
                    "/tmp/pid",
                    "-v",
                    "--domain-socket",
                    "5:/tmp/d5",
                    "--domain-socket",
                    "7:/tmp/d7",
                    "--persist-fsync",
                    "-W",
                    "9",
                    "--transaction",
                    "4",
                    "-E",
                    "50",
                    "--quota",
                    "outstanding=3",
                    "-Q",
                    "transaction-nodes=77",
                    "--output-limit",
                    "65536"});
    ASSERT_TRUE(p.config) << p.message;
    const auto& c = *p.config;
    EXPECT_EQ(c.socket_path, "/tmp/s");
    EXPECT_EQ(c.persist_path, "/tmp/p");
    EXPECT_EQ(c.pid_file, "/tmp/pid");
    EXPECT_TRUE(c.verbose);
    EXPECT_TRUE(c.persist_fsync);
    ASSERT_EQ(c.domain_sockets.size(), 2u);
    EXPECT_EQ(c.domain_sockets[0].domid, 5u);
    EXPECT_EQ(c.domain_sockets[0].path, "/tmp/d5");
    EXPECT_EQ(c.domain_sockets[1].domid, 7u);
    EXPECT_EQ(c.quotas.watches, 9u);
    EXPECT_EQ(c.quotas.transactions, 4u);
    EXPECT_EQ(c.quotas.nodes_per_domain, 50u);
    EXPECT_EQ(c.quotas.outstanding, 3u);
    EXPECT_EQ(c.quotas.transaction_nodes, 77u);
    EXPECT_EQ(c.quotas.output_limit, 65536u);
}

TEST(xenstored_options, help) {
    auto p = parse({"--help"});
    EXPECT_FALSE(p.config);
    EXPECT_EQ(p.exit_code, 0);
    EXPECT_NE(p.message.find("--domain-socket"), std::string::npos);
    EXPECT_NE(p.message.find("DOMID:PATH"), std::string::npos);
    EXPECT_NE(p.message.find("--persist"), std::string::npos);
}

TEST(xenstored_options, bad_flags_exit_2_with_one_line) {
    for (auto args : std::vector<std::vector<const char*>>{{"--bogus"},
                                                           {"--socket"},
                                                           {"--domain-socket", "nocolon"},
                                                           {"--domain-socket", "0:/tmp/x"},
                                                           {"--domain-socket", "x:/tmp/x"},
                                                           {"--domain-socket", "5:"},
                                                           {"--quota", "outstanding"},
                                                           {"--quota", "nonsense=3"},
                                                           {"--quota", "watches=0"},
                                                           {"-W", "0"},
                                                           {"-W", "abc"},
                                                           {"stray-argument"}}) {
        auto p = parse(args);
        EXPECT_FALSE(p.config) << args[0];
        EXPECT_EQ(p.exit_code, 2) << args[0];
        EXPECT_TRUE(p.to_stderr);
        ASSERT_FALSE(p.message.empty());
        EXPECT_EQ(p.message.find('\n'), p.message.size() - 1) << p.message;
        EXPECT_EQ(p.message.rfind("jitsu-xenstored: ", 0), 0u) << p.message;
    }
}

}  // namespace
}  // namespace jitsu::xenstored
