// Transactions: isolation, read-your-writes, conflicts (EAGAIN), abort, rm, watches.
#include <gtest/gtest.h>

#include <map>

#include "harness.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::client;
using testing::server_fixture;

class xenstored_transaction : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(a->write("/t/x", "1"), "");
        ASSERT_EQ(a->write("/t/y", "2"), "");
    }
    // The store as a comparable snapshot (path -> value, perms, children).
    std::map<std::string, std::string> snapshot() {
        std::map<std::string, std::string> out;
        for (const auto& [path, n] : fx.state().tree().nodes()) {
            std::string perms;
            for (auto& p : n.perms) perms += xenstore::format_permission(p) + ",";
            out[path] = n.value + "|" + perms + "|" + n.children;
        }
        return out;
    }

    server_fixture fx;
    std::unique_ptr<client> a = fx.dom0();
    std::unique_ptr<client> b = fx.dom0();
};

TEST_F(xenstored_transaction, isolation_and_read_your_writes) {
    auto tx = a->start();
    ASSERT_NE(tx, 0u);
    EXPECT_EQ(a->write("/t/x", "tx", tx), "");
    EXPECT_EQ(a->write("/t/new/deep", "n", tx), "");
    EXPECT_EQ(a->read("/t/x", tx), "tx");
    EXPECT_EQ(a->read("/t/new/deep", tx), "n");
    EXPECT_EQ(a->dir("/t", tx), "x,y,new");
    // Outside the transaction nothing changed yet.
    EXPECT_EQ(a->read("/t/x"), "1");
    EXPECT_EQ(b->read("/t/x"), "1");
    EXPECT_EQ(b->read("/t/new"), "ERR:ENOENT");
    EXPECT_EQ(b->dir("/t"), "x,y");
    EXPECT_EQ(a->end(tx), "");
    EXPECT_EQ(b->read("/t/x"), "tx");
    EXPECT_EQ(b->read("/t/new/deep"), "n");
    EXPECT_FALSE(fx.state().tree().check_consistency());
}

TEST_F(xenstored_transaction, first_read_is_repeatable) {
    auto tx = a->start();
    EXPECT_EQ(a->read("/t/x", tx), "1");
    ASSERT_EQ(b->write("/t/x", "changed"), "");
    EXPECT_EQ(a->read("/t/x", tx), "1");  // the transaction's copy
    EXPECT_EQ(a->end(tx), "EAGAIN");
}

TEST_F(xenstored_transaction, conflict_on_read_node) {
    auto tx = a->start();
    EXPECT_EQ(a->read("/t/x", tx), "1");
    EXPECT_EQ(a->write("/t/y", "from-tx", tx), "");
    ASSERT_EQ(b->write("/t/x", "other"), "");
    auto before = snapshot();
    EXPECT_EQ(a->end(tx), "EAGAIN");
    EXPECT_EQ(snapshot(), before);  // the failed commit left no trace
    EXPECT_EQ(a->read("/t/y"), "2");
    // The transaction is over either way.
    EXPECT_EQ(a->end(tx), "ENOENT");
}

TEST_F(xenstored_transaction, conflict_on_written_node) {
    auto tx = a->start();
    EXPECT_EQ(a->write("/t/x", "mine", tx), "");
    ASSERT_EQ(b->write("/t/x", "theirs"), "");
    EXPECT_EQ(a->end(tx), "EAGAIN");
    EXPECT_EQ(a->read("/t/x"), "theirs");
}

TEST_F(xenstored_transaction, conflict_on_removed_or_created_node) {
    auto tx = a->start();
    EXPECT_EQ(a->read("/t/y", tx), "2");
    ASSERT_EQ(b->rm("/t/y"), "");
    EXPECT_EQ(a->end(tx), "EAGAIN");

    tx = a->start();
    EXPECT_EQ(a->read("/t/fresh", tx), "ERR:ENOENT");
    ASSERT_EQ(b->write("/t/fresh", "b"), "");
    EXPECT_EQ(a->end(tx), "EAGAIN");
}

TEST_F(xenstored_transaction, conflict_on_listed_directory) {
    auto tx = a->start();
    EXPECT_EQ(a->dir("/t", tx), "x,y");
    ASSERT_EQ(b->write("/t/z", "3"), "");
    EXPECT_EQ(a->end(tx), "EAGAIN");
}

TEST_F(xenstored_transaction, unrelated_changes_do_not_conflict) {
    auto tx = a->start();
    EXPECT_EQ(a->read("/t/x", tx), "1");
    EXPECT_EQ(a->write("/t/x", "2", tx), "");
    ASSERT_EQ(b->write("/t/y", "other"), "");
    ASSERT_EQ(b->write("/elsewhere", "e"), "");
    EXPECT_EQ(a->end(tx), "");
    EXPECT_EQ(a->read("/t/x"), "2");
}

TEST_F(xenstored_transaction, two_transactions_second_commit_fails) {
    auto t1 = a->start();
    auto t2 = b->start();
    EXPECT_EQ(a->read("/t/x", t1), "1");
    EXPECT_EQ(b->read("/t/y", t2), "2");
    EXPECT_EQ(a->write("/t/y", "a", t1), "");
    EXPECT_EQ(b->write("/t/x", "b", t2), "");
    EXPECT_EQ(a->end(t1), "");
    EXPECT_EQ(b->end(t2), "EAGAIN");
    EXPECT_EQ(a->read("/t/x"), "1");
    EXPECT_EQ(a->read("/t/y"), "a");
}

TEST_F(xenstored_transaction, abort_leaves_nothing) {
    auto before = snapshot();
    auto tx = a->start();
    EXPECT_EQ(a->write("/t/x", "gone", tx), "");
    EXPECT_EQ(a->write("/new/node", "gone", tx), "");
    EXPECT_EQ(a->rm("/t/y", tx), "");
    EXPECT_EQ(a->set_perms("/t", {"r5"}, tx), "");
    EXPECT_EQ(a->end(tx, false), "");
    EXPECT_EQ(snapshot(), before);
}

TEST_F(xenstored_transaction, rm_inside_transaction) {
    ASSERT_EQ(a->write("/t/x/deep/er", "d"), "");
    auto tx = a->start();
    EXPECT_EQ(a->rm("/t/x", tx), "");
    EXPECT_EQ(a->read("/t/x", tx), "ERR:ENOENT");
    EXPECT_EQ(a->read("/t/x/deep/er", tx), "ERR:ENOENT");
    EXPECT_EQ(a->dir("/t", tx), "y");
    EXPECT_EQ(b->read("/t/x/deep/er"), "d");
    // Re-create inside the same transaction.
    EXPECT_EQ(a->write("/t/x", "again", tx), "");
    EXPECT_EQ(a->dir("/t", tx), "y,x");
    EXPECT_EQ(a->end(tx), "");
    EXPECT_EQ(b->read("/t/x"), "again");
    EXPECT_EQ(b->read("/t/x/deep"), "ERR:ENOENT");
    EXPECT_FALSE(fx.state().tree().check_consistency());
}

TEST_F(xenstored_transaction, create_then_remove_in_transaction) {
    auto before = snapshot();
    auto tx = a->start();
    EXPECT_EQ(a->write("/tmp/a/b", "x", tx), "");
    EXPECT_EQ(a->rm("/tmp", tx), "");
    EXPECT_EQ(a->end(tx), "");
    auto after = snapshot();
    // Only generation-independent content is compared; nothing was added.
    EXPECT_EQ(after, before);
    EXPECT_FALSE(fx.state().tree().check_consistency());
}

TEST_F(xenstored_transaction, watch_events_only_at_commit) {
    ASSERT_EQ(b->watch("/t", "tok"), "");
    b->events();  // the initial event
    auto tx = a->start();
    EXPECT_EQ(a->write("/t/x", "new", tx), "");
    EXPECT_EQ(a->write("/t/z", "new", tx), "");
    EXPECT_TRUE(b->events().empty());
    EXPECT_EQ(a->end(tx), "");
    auto ev = b->events();
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].first, "/t/x");
    EXPECT_EQ(ev[1].first, "/t/z");
    // Aborted and conflicting transactions fire nothing.
    tx = a->start();
    EXPECT_EQ(a->write("/t/x", "n2", tx), "");
    EXPECT_EQ(a->end(tx, false), "");
    EXPECT_TRUE(b->events().empty());
    tx = a->start();
    EXPECT_EQ(a->write("/t/x", "n3", tx), "");
    ASSERT_EQ(a->write("/t/x", "direct"), "");
    b->events();
    EXPECT_EQ(a->end(tx), "EAGAIN");
    EXPECT_TRUE(b->events().empty());
}

TEST_F(xenstored_transaction, no_nesting_and_ids_distinct) {
    auto t1 = a->start();
    auto t2 = a->start();
    EXPECT_NE(t1, t2);
    EXPECT_NE(t1, 0u);
    EXPECT_EQ(a->call(XS_TRANSACTION_START, "\0"s, t1).error(), "EBUSY");
    // Transactions belong to their connection.
    EXPECT_EQ(b->read("/t/x", t1), "ERR:ENOENT");
    EXPECT_EQ(a->end(t1), "");
    EXPECT_EQ(a->end(t2), "");
}

TEST_F(xenstored_transaction, generation_changes_with_every_write) {
    const auto g1 = fx.state().tree().find("/t/x")->generation;
    ASSERT_EQ(a->write("/t/x", "1"), "");
    const auto g2 = fx.state().tree().find("/t/x")->generation;
    EXPECT_GT(g2, g1);
    // Adding a child changes the parent's generation (its children list).
    const auto p1 = fx.state().tree().find("/t")->generation;
    ASSERT_EQ(a->write("/t/q", ""), "");
    EXPECT_GT(fx.state().tree().find("/t")->generation, p1);
}

}  // namespace
}  // namespace jitsu::xenstored
