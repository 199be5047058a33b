// Watches: initial event, firing rules (node, ancestors, removed descendants), tokens,
// relative paths, permissions, unwatch and reset.
#include <gtest/gtest.h>

#include "harness.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::client;
using testing::server_fixture;
using event = std::pair<std::string, std::string>;
using events = std::vector<event>;

class xenstored_watch : public ::testing::Test {
  protected:
    server_fixture fx;
    std::unique_ptr<client> w = fx.dom0();  // the watcher
    std::unique_ptr<client> c = fx.dom0();  // makes changes
};

TEST_F(xenstored_watch, initial_event_after_ack) {
    auto msgs = w->request(XS_WATCH, "/nowhere\0tok\0"s);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0].type, static_cast<std::uint32_t>(XS_WATCH));
    EXPECT_EQ(msgs[1].type, static_cast<std::uint32_t>(XS_WATCH_EVENT));
    EXPECT_EQ(msgs[1].payload, "/nowhere\0tok\0"s);
    EXPECT_EQ(msgs[1].req_id, 0u);
}

TEST_F(xenstored_watch, fires_for_node_and_descendants) {
    ASSERT_EQ(w->watch("/a", "t"), "");
    w->events();
    ASSERT_EQ(c->write("/a", "1"), "");
    ASSERT_EQ(c->write("/a/b/c", "2"), "");
    ASSERT_EQ(c->mkdir("/a/m"), "");
    ASSERT_EQ(c->mkdir("/a/m"), "");  // exists: no event
    EXPECT_EQ(w->events(), (events{{"/a", "t"}, {"/a/b/c", "t"}, {"/a/m", "t"}}));
    ASSERT_EQ(c->set_perms("/a", {"r0"}), "");
    ASSERT_EQ(c->write("/ab", "not below /a"), "");
    ASSERT_EQ(c->write("/", "root changed"), "");
    EXPECT_EQ(w->events(), (events{{"/a", "t"}}));
}

TEST_F(xenstored_watch, ancestor_watch_on_root_sees_everything) {
    ASSERT_EQ(w->watch("/", "root"), "");
    w->events();
    ASSERT_EQ(c->write("/x/y", "1"), "");
    EXPECT_EQ(w->events(), (events{{"/x/y", "root"}}));
}

TEST_F(xenstored_watch, rm_fires_ancestors_once_and_each_watched_descendant) {
    ASSERT_EQ(c->write("/r/a/b", "1"), "");
    ASSERT_EQ(c->write("/r/c", "2"), "");
    ASSERT_EQ(w->watch("/r", "top"), "");
    ASSERT_EQ(w->watch("/r/a/b", "leaf"), "");
    ASSERT_EQ(w->watch("/r/c", "c"), "");
    ASSERT_EQ(w->watch("/", "root"), "");
    w->events();
    ASSERT_EQ(c->rm("/r/a"), "");
    auto ev = w->events();
    // Children first: the removed leaf for its own watch, then /r/a for the ancestors.
    EXPECT_EQ(ev, (events{{"/r/a/b", "leaf"}, {"/r/a", "top"}, {"/r/a", "root"}}));
    // rm of a missing node fires nothing.
    ASSERT_EQ(c->rm("/r/a"), "");
    EXPECT_TRUE(w->events().empty());
}

TEST_F(xenstored_watch, tokens_duplicates_and_unwatch) {
    ASSERT_EQ(w->watch("/k", "one"), "");
    ASSERT_EQ(w->watch("/k", "two"), "");
    EXPECT_EQ(w->watch("/k", "one"), "EEXIST");
    w->events();
    ASSERT_EQ(c->write("/k", "v"), "");
    auto ev = w->events();
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(w->unwatch("/k", "one"), "");
    EXPECT_EQ(w->unwatch("/k", "one"), "ENOENT");
    EXPECT_EQ(w->unwatch("/k", "nope"), "ENOENT");
    ASSERT_EQ(c->write("/k", "w"), "");
    EXPECT_EQ(w->events(), (events{{"/k", "two"}}));
}

TEST_F(xenstored_watch, relative_watch_reports_relative_paths) {
    ASSERT_EQ(w->watch("data", "rel"), "");
    EXPECT_EQ(w->events(), (events{{"data", "rel"}}));
    ASSERT_EQ(c->write("/local/domain/0/data/status", "ready"), "");
    EXPECT_EQ(w->events(), (events{{"data/status", "rel"}}));
    // Unwatch with the relative name.
    EXPECT_EQ(w->unwatch("data", "rel"), "");
}

TEST_F(xenstored_watch, identical_pending_events_are_merged) {
    ASSERT_EQ(w->watch("/d", "t"), "");
    w->events();
    // Three writes before the watcher reads: one event, as xenstored.
    ASSERT_EQ(c->write("/d", "1"), "");
    ASSERT_EQ(c->write("/d", "2"), "");
    ASSERT_EQ(c->write("/d/e", "3"), "");
    EXPECT_EQ(w->events(), (events{{"/d", "t"}, {"/d/e", "t"}}));
}

TEST_F(xenstored_watch, events_only_for_readable_nodes) {
    auto d5 = fx.domain(5);
    ASSERT_EQ(c->write("/priv/node", "x"), "");
    ASSERT_EQ(c->write("/pub/node", "x"), "");
    ASSERT_EQ(c->set_perms("/pub", {"r0"}), "");
    ASSERT_EQ(c->set_perms("/pub/node", {"r0"}), "");
    ASSERT_EQ(d5->watch("/priv", "p"), "");
    ASSERT_EQ(d5->watch("/pub", "q"), "");
    d5->events();
    ASSERT_EQ(c->write("/priv/node", "y"), "");
    ASSERT_EQ(c->write("/pub/node", "y"), "");
    EXPECT_EQ(d5->events(), (events{{"/pub/node", "q"}}));
    // A readable parent is enough.
    ASSERT_EQ(c->set_perms("/pub/node", {"n0"}), "");
    EXPECT_EQ(d5->events(), (events{{"/pub/node", "q"}}));
    ASSERT_EQ(c->write("/pub/node", "z"), "");
    EXPECT_EQ(d5->events(), (events{{"/pub/node", "q"}}));
    // Losing access by set_perms still tells the watcher (old permissions count), but
    // later changes do not.
    ASSERT_EQ(c->write("/hidden/node", "x"), "");
    ASSERT_EQ(c->set_perms("/hidden/node", {"r0"}), "");
    ASSERT_EQ(d5->watch("/hidden/node", "h"), "");
    d5->events();
    ASSERT_EQ(c->set_perms("/hidden/node", {"n0"}), "");
    EXPECT_EQ(d5->events(), (events{{"/hidden/node", "h"}}));
    ASSERT_EQ(c->write("/hidden/node", "y"), "");
    EXPECT_TRUE(d5->events().empty());
}

TEST_F(xenstored_watch, special_paths) {
    auto d5 = fx.domain(5);
    ASSERT_EQ(w->watch("@releaseDomain", "rel"), "");
    ASSERT_EQ(d5->watch("@releaseDomain", "rel5"), "");
    ASSERT_EQ(w->watch("@unknownSpecial", "u"), "");  // accepted, never fires
    EXPECT_EQ(w->events(), (events{{"@releaseDomain", "rel"}, {"@unknownSpecial", "u"}}));
    EXPECT_EQ(d5->events(), (events{{"@releaseDomain", "rel5"}}));
    ASSERT_EQ(client::ack(c->call(XS_INTRODUCE,
                                  "9\0"s
                                  "0\0"s
                                  "3\0"s)),
              "");
    ASSERT_EQ(client::ack(c->call(XS_RELEASE, "9\0"s)), "");
    EXPECT_EQ(w->events(), (events{{"@releaseDomain", "rel"}}));
    EXPECT_TRUE(d5->events().empty());  // n0: only dom0 sees it
    ASSERT_EQ(c->set_perms("@releaseDomain", {"n0", "r5"}), "");
    ASSERT_EQ(client::ack(c->call(XS_INTRODUCE,
                                  "9\0"s
                                  "0\0"s
                                  "3\0"s)),
              "");
    ASSERT_EQ(client::ack(c->call(XS_RELEASE, "9\0"s)), "");
    EXPECT_EQ(d5->events(), (events{{"@releaseDomain", "rel5"}}));
    EXPECT_EQ(w->watch("@" + std::string(2048, 'x'), "t"), "EINVAL");
}

TEST_F(xenstored_watch, reset_and_disconnect_drop_watches) {
    ASSERT_EQ(w->watch("/g", "t"), "");
    w->events();
    ASSERT_EQ(client::ack(w->call(XS_RESET_WATCHES, "")), "");
    ASSERT_EQ(c->write("/g", "1"), "");
    EXPECT_TRUE(w->events().empty());
    {
        auto gone = fx.dom0();
        ASSERT_EQ(gone->watch("/g", "x"), "");
    }  // destroyed: its watch must not be fired into freed memory
    ASSERT_EQ(c->write("/g", "2"), "");
    EXPECT_EQ(fx.state().watches().size(), 0u);
}

TEST_F(xenstored_watch, invalid_watch_paths) {
    EXPECT_EQ(w->watch("/a/", "t"), "EINVAL");
    EXPECT_EQ(w->watch("/a b", "t"), "EINVAL");
    EXPECT_EQ(w->watch("", "t"), "EINVAL");
}

}  // namespace
}  // namespace jitsu::xenstored
