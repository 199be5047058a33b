// Quotas: per connection (watches, transactions, outstanding, output) for everyone,
// per domain (nodes, node size, permissions, transaction nodes) for unprivileged ones.
#include "xenstored/quota.h"

#include <gtest/gtest.h>

#include "harness.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::client;
using testing::server_fixture;

TEST(xenstored_quota, defaults_are_xenstored_4_17) {
    quota_config q;
    EXPECT_EQ(q.nodes_per_domain, 1000u);
    EXPECT_EQ(q.node_size, 2048u);
    EXPECT_EQ(q.watches, 128u);
    EXPECT_EQ(q.transactions, 10u);
    EXPECT_EQ(q.outstanding, 20u);
    EXPECT_EQ(q.transaction_nodes, 1024u);
    EXPECT_EQ(q.perms_per_node, 5u);
    EXPECT_EQ(q.path_max, 2048u);
}

TEST(xenstored_quota, set_by_name) {
    quota_config q;
    EXPECT_TRUE(set_quota(q, "watches", 3));
    EXPECT_EQ(q.watches, 3u);
    EXPECT_TRUE(set_quota(q, "path-max", 99999));
    EXPECT_EQ(q.path_max, 2048u);
    EXPECT_FALSE(set_quota(q, "watches", 0));
    EXPECT_FALSE(set_quota(q, "bogus", 1));
    EXPECT_NE(describe_quotas(q).find("outstanding"), std::string::npos);
}

TEST(xenstored_quota, watches_per_connection_for_dom0_too) {
    server_fixture fx;
    auto d0 = fx.dom0();
    for (int i = 0; i < 128; ++i) ASSERT_EQ(d0->watch("/w" + std::to_string(i), "t"), "") << i;
    EXPECT_EQ(d0->watch("/w-one-more", "t"), "E2BIG");
    ASSERT_EQ(d0->unwatch("/w0", "t"), "");
    EXPECT_EQ(d0->watch("/w-one-more", "t"), "");
    // Another connection has its own allowance.
    auto other = fx.dom0();
    EXPECT_EQ(other->watch("/w0", "t"), "");
}

TEST(xenstored_quota, transactions_per_connection) {
    quota_config q;
    q.transactions = 3;
    server_fixture fx(q);
    auto d0 = fx.dom0();
    std::vector<std::uint32_t> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(d0->start());
    EXPECT_EQ(d0->call(XS_TRANSACTION_START, "\0"s).error(), "ENOSPC");
    EXPECT_EQ(d0->end(ids[0], false), "");
    EXPECT_NE(d0->start(), 0u);
    auto d5 = fx.domain(5);
    for (int i = 0; i < 3; ++i) EXPECT_NE(d5->start(), 0u);
    EXPECT_EQ(d5->call(XS_TRANSACTION_START, "\0"s).error(), "ENOSPC");
}

TEST(xenstored_quota, node_size_for_domu_only) {
    server_fixture fx;
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    ASSERT_EQ(d0->mkdir("/local/domain/5"), "");
    ASSERT_EQ(d0->set_perms("/local/domain/5", {"n5"}), "");
    // 24-byte header + 8 per permission + value < 2048.
    EXPECT_EQ(d5->write("v", std::string(2048 - 24 - 8 - 1, 'x')), "");
    EXPECT_EQ(d5->write("v", std::string(2048 - 24 - 8, 'x')), "ENOSPC");
    EXPECT_EQ(d5->write("new", std::string(3000, 'x')), "ENOSPC");
    EXPECT_EQ(d5->read("new"), "ERR:ENOENT");  // nothing half-created
    EXPECT_EQ(d0->write("/local/domain/5/big", std::string(4000, 'x')), "");
}

TEST(xenstored_quota, nodes_per_domain_for_domu_only) {
    quota_config q;
    q.nodes_per_domain = 10;
    server_fixture fx(q);
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    ASSERT_EQ(d0->mkdir("/local/domain/5"), "");
    ASSERT_EQ(d0->set_perms("/local/domain/5", {"n5"}), "");  // owned by 5: counts 1
    EXPECT_EQ(fx.state().tree().owned_nodes(5), 1u);
    for (int i = 0; i < 9; ++i) ASSERT_EQ(d5->write("n" + std::to_string(i), ""), "") << i;
    EXPECT_EQ(d5->write("one-more", ""), "ENOSPC");
    // A write creating several nodes is refused whole.
    ASSERT_EQ(d5->rm("n0"), "");
    EXPECT_EQ(d5->write("a/b", ""), "ENOSPC");
    EXPECT_EQ(d5->read("a"), "ERR:ENOENT");
    EXPECT_EQ(d5->write("a", ""), "");
    // dom0 is exempt.
    for (int i = 0; i < 20; ++i) ASSERT_EQ(d0->write("/d0/n" + std::to_string(i), ""), "");
    EXPECT_FALSE(fx.state().tree().check_consistency());
}

TEST(xenstored_quota, nodes_per_domain_inside_transaction) {
    quota_config q;
    q.nodes_per_domain = 5;
    server_fixture fx(q);
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    ASSERT_EQ(d0->mkdir("/local/domain/5"), "");
    ASSERT_EQ(d0->set_perms("/local/domain/5", {"n5"}), "");
    auto tx = d5->start();
    for (int i = 0; i < 4; ++i) ASSERT_EQ(d5->write("t" + std::to_string(i), "", tx), "");
    EXPECT_EQ(d5->write("t-more", "", tx), "ENOSPC");
    // Meanwhile the domain fills up outside the transaction: the commit is refused.
    auto tx2 = d5->start();
    ASSERT_EQ(d5->write("u0", ""), "");
    EXPECT_EQ(d5->end(tx), "ENOSPC");
    EXPECT_EQ(d5->read("t0"), "ERR:ENOENT");
    EXPECT_EQ(d5->end(tx2), "");
}

TEST(xenstored_quota, permissions_per_node_for_domu) {
    server_fixture fx;
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    ASSERT_EQ(d0->write("/n", ""), "");
    ASSERT_EQ(d0->set_perms("/n", {"n5"}), "");
    EXPECT_EQ(d5->set_perms("/n", {"n5", "r1", "r2", "r3", "r4"}), "");
    EXPECT_EQ(d5->set_perms("/n", {"n5", "r1", "r2", "r3", "r4", "r6"}), "ENOSPC");
    EXPECT_EQ(d0->set_perms("/n", {"n5", "r1", "r2", "r3", "r4", "r6", "r7"}), "");
}

TEST(xenstored_quota, transaction_nodes_for_domu) {
    quota_config q;
    q.transaction_nodes = 4;
    server_fixture fx(q);
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    for (int i = 0; i < 6; ++i) {
        ASSERT_EQ(d0->write("/open/k" + std::to_string(i), "v"), "");
        ASSERT_EQ(d0->set_perms("/open/k" + std::to_string(i), {"r0"}), "");
    }
    auto tx = d5->start();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(d5->read("/open/k" + std::to_string(i), tx), "v");
    EXPECT_EQ(d5->read("/open/k4", tx), "ERR:ENOSPC");
    EXPECT_EQ(d5->end(tx), "");
    auto t0 = d0->start();
    for (int i = 0; i < 6; ++i) EXPECT_EQ(d0->read("/open/k" + std::to_string(i), t0), "v");
    EXPECT_EQ(d0->end(t0), "");
}

TEST(xenstored_quota, path_max_quota) {
    quota_config q;
    q.path_max = 10;
    server_fixture fx(q);
    auto d0 = fx.dom0();
    EXPECT_EQ(d0->write("/123456789", ""), "");
    EXPECT_EQ(d0->write("/1234567890", ""), "EINVAL");
    EXPECT_EQ(d0->write("rel/567890", ""), "");  // under /local/domain/0/: 10 chars
}

TEST(xenstored_quota, output_limit_marks_slow_reader) {
    quota_config q;
    q.output_limit = 4096;
    server_fixture fx(q);
    auto slow = fx.dom0();
    auto d0 = fx.dom0();
    ASSERT_EQ(slow->watch("/busy", "t"), "");
    // The slow client never reads: its queued events grow past the limit.
    for (int i = 0; i < 200 && !slow->state().overflowed(); ++i) {
        ASSERT_EQ(d0->write("/busy/k" + std::to_string(i), "v"), "");
    }
    EXPECT_TRUE(slow->state().overflowed());
    EXPECT_FALSE(d0->state().overflowed());
}

}  // namespace
}  // namespace jitsu::xenstored
