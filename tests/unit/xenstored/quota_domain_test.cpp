// Issue 11 item 3: the watch, transaction and output quotas of an unprivileged domain
// bind the total over all its connections (as xenstored counts them per domain), so that
// opening more connections gives a domain no more memory. dom0's connections are each
// limited on their own, as before.
#include <gtest/gtest.h>

#include "harness.h"
#include "xenstored/quota.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::client;
using testing::server_fixture;

TEST(xenstored_quota_domain, watches_count_over_all_connections_of_a_domain) {
    quota_config q;
    q.watches = 4;
    server_fixture fx(q);
    auto a = fx.domain(5);
    auto b = fx.domain(5);
    auto c = fx.domain(5);
    ASSERT_EQ(a->watch("/w/a1", "t"), "");
    ASSERT_EQ(a->watch("/w/a2", "t"), "");
    ASSERT_EQ(b->watch("/w/b1", "t"), "");
    ASSERT_EQ(b->watch("/w/b2", "t"), "");
    // A third connection brings no more quota.
    EXPECT_EQ(c->watch("/w/c1", "t"), "E2BIG");
    EXPECT_EQ(a->watch("/w/a3", "t"), "E2BIG");
    EXPECT_EQ(fx.state().stats().watch_quota_refusals, 2u);
    // Other domains and dom0 have their own.
    auto other = fx.domain(6);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(other->watch("/w/" + std::to_string(i), "t"), "");
    auto d0 = fx.dom0();
    EXPECT_EQ(d0->watch("/w/d0", "t"), "");
    // Freed by unwatch, and by closing a connection.
    ASSERT_EQ(a->unwatch("/w/a1", "t"), "");
    EXPECT_EQ(c->watch("/w/c1", "t"), "");
    EXPECT_EQ(c->watch("/w/c2", "t"), "E2BIG");
    b.reset();
    EXPECT_EQ(c->watch("/w/c2", "t"), "");
    EXPECT_EQ(c->watch("/w/c3", "t"), "");
    EXPECT_EQ(c->watch("/w/c4", "t"), "E2BIG");
    // XS_RESET_WATCHES gives them back too.
    ASSERT_EQ(client::ack(c->call(XS_RESET_WATCHES, "")), "");
    EXPECT_EQ(a->watch("/w/a4", "t"), "");
    ASSERT_NE(fx.state().usage(5), nullptr);
    EXPECT_EQ(fx.state().usage(5)->watches, 2u);
}

TEST(xenstored_quota_domain, transactions_count_over_all_connections_of_a_domain) {
    quota_config q;
    q.transactions = 3;
    server_fixture fx(q);
    auto a = fx.domain(5);
    auto b = fx.domain(5);
    const auto t1 = a->start();
    ASSERT_NE(t1, 0u);
    ASSERT_NE(a->start(), 0u);
    ASSERT_NE(b->start(), 0u);
    EXPECT_EQ(b->call(XS_TRANSACTION_START, "\0"s).error(), "ENOSPC");
    EXPECT_EQ(a->call(XS_TRANSACTION_START, "\0"s).error(), "ENOSPC");
    EXPECT_EQ(fx.state().stats().transaction_quota_refusals, 2u);
    EXPECT_NE(fx.domain(6)->start(), 0u);  // another domain
    // Ending one (commit or abort) and closing a connection give them back.
    ASSERT_EQ(a->end(t1, false), "");
    EXPECT_NE(b->start(), 0u);
    a.reset();
    EXPECT_NE(b->start(), 0u);
    EXPECT_EQ(fx.state().usage(5)->transactions, 3u);
}

TEST(xenstored_quota_domain, output_limit_counts_over_all_connections_of_a_domain) {
    quota_config q;
    q.output_limit = 3000;
    server_fixture fx(q);
    auto d0 = fx.dom0();
    ASSERT_EQ(d0->write("/pub", ""), "");
    ASSERT_EQ(d0->set_perms("/pub", {"n0", "r5"}), "");
    // Two connections of domain 5 that never read, each well under the limit alone.
    auto quiet = fx.domain(5);
    auto greedy = fx.domain(5);
    ASSERT_EQ(quiet->watch("/pub", "q"), "");
    ASSERT_EQ(greedy->watch("/pub", "g1"), "");
    ASSERT_EQ(greedy->watch("/pub", "g2"), "");  // twice the events: the larger queue
    quiet->events();                             // the initial events
    greedy->events();
    int writes = 0;
    while (!quiet->state().overflowed() && !greedy->state().overflowed() && writes < 200) {
        ASSERT_EQ(d0->write("/pub/k" + std::to_string(writes++), "v"), "");
    }
    // ~33 bytes an event: the domain's 3000 are reached after ~30 writes (3 events
    // each); per connection, the greedy one alone would have taken ~45.
    EXPECT_LT(writes, 40);
    EXPECT_LT(quiet->state().queued_bytes(), 3000u / 2);
    EXPECT_TRUE(greedy->state().overflowed()) << "after " << writes << " writes";
    EXPECT_FALSE(quiet->state().overflowed());
    EXPECT_EQ(fx.state().stats().output_overflows, 1u);
    // What is left counts: the dropped connection's bytes no longer do.
    EXPECT_EQ(fx.state().usage(5)->output_bytes, quiet->state().queued_bytes());
    // The quiet one goes on receiving once it reads.
    quiet->drain();
    EXPECT_EQ(fx.state().usage(5)->output_bytes, 0u);
    ASSERT_EQ(d0->write("/pub/after", "v"), "");
    EXPECT_EQ(quiet->events().size(), 1u);
}

TEST(xenstored_quota_domain, dom0_connections_are_limited_one_by_one) {
    quota_config q;
    q.output_limit = 3000;
    q.watches = 2;
    server_fixture fx(q);
    auto writer = fx.dom0();
    auto a = fx.dom0();
    auto b = fx.dom0();
    ASSERT_EQ(a->watch("/x", "t"), "");
    ASSERT_EQ(a->watch("/y", "t"), "");
    ASSERT_EQ(b->watch("/x", "t"), "");  // a's watches are not b's
    ASSERT_EQ(b->watch("/y", "t"), "");
    a->events();
    b->events();
    for (int i = 0; i < 50; ++i) ASSERT_EQ(writer->write("/x/" + std::to_string(i), ""), "");
    EXPECT_FALSE(a->state().overflowed());  // ~1650 bytes each, 3300 together
    EXPECT_FALSE(b->state().overflowed());
}

}  // namespace
}  // namespace jitsu::xenstored
