// Permissions: perm_for rules, and their enforcement through the request handler for
// an unprivileged domain.
#include "xenstored/permissions.h"

#include <gtest/gtest.h>

#include "harness.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::server_fixture;

perm_list perms(std::initializer_list<const char*> list) {
    perm_list out;
    for (auto s : list) out.push_back(*xenstore::parse_permission(s));
    return out;
}

TEST(xenstored_permissions, dom0_and_owner_get_everything) {
    const unsigned all = perm_read | perm_write | perm_owner;
    EXPECT_EQ(perm_for({0, true}, perms({"n5"})), all);
    EXPECT_EQ(perm_for({5, false}, perms({"n5"})), all);
    EXPECT_EQ(perm_for({5, false}, perms({"n7", "n5"})), unsigned{perm_none});
}

TEST(xenstored_permissions, default_letter_and_specific_entries) {
    const caller dom3{3, false};
    EXPECT_EQ(perm_for(dom3, perms({"n0"})), unsigned{perm_none});
    EXPECT_EQ(perm_for(dom3, perms({"r0"})), unsigned{perm_read});
    EXPECT_EQ(perm_for(dom3, perms({"w0"})), unsigned{perm_write});
    EXPECT_EQ(perm_for(dom3, perms({"b0"})), unsigned{perm_read | perm_write});
    // A specific entry overrides the default, in both directions.
    EXPECT_EQ(perm_for(dom3, perms({"b0", "n3"})), unsigned{perm_none});
    EXPECT_EQ(perm_for(dom3, perms({"n0", "w3"})), unsigned{perm_write});
    // The first matching entry wins.
    EXPECT_EQ(perm_for(dom3, perms({"n0", "r3", "b3"})), unsigned{perm_read});
    // Entries for other domains do not matter.
    EXPECT_EQ(perm_for(dom3, perms({"r0", "b4"})), unsigned{perm_read});
}

TEST(xenstored_permissions, domu_read_write_enforced) {
    server_fixture fx;
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    ASSERT_EQ(d0->write("/secret", "x"), "");
    ASSERT_EQ(d0->write("/public", "y"), "");
    ASSERT_EQ(d0->set_perms("/public", {"r0"}), "");
    ASSERT_EQ(d0->write("/drop", "z"), "");
    ASSERT_EQ(d0->set_perms("/drop", {"w0"}), "");
    ASSERT_EQ(d0->write("/shared", "s"), "");
    ASSERT_EQ(d0->set_perms("/shared", {"n0", "b5"}), "");

    EXPECT_EQ(d5->read("/secret"), "ERR:EACCES");
    EXPECT_EQ(d5->write("/secret", "no"), "EACCES");
    EXPECT_EQ(d5->read("/public"), "y");
    EXPECT_EQ(d5->write("/public", "no"), "EACCES");
    EXPECT_EQ(d5->read("/drop"), "ERR:EACCES");
    EXPECT_EQ(d5->write("/drop", "yes"), "");
    EXPECT_EQ(d5->read("/shared"), "s");
    EXPECT_EQ(d5->write("/shared", "t"), "");
    EXPECT_EQ(d0->read("/drop"), "yes");
    EXPECT_EQ(d0->read("/shared"), "t");
    EXPECT_EQ(d5->dir("/secret"), "ERR:EACCES");
    EXPECT_EQ(d5->perms("/secret"), "ERR:EACCES");
    EXPECT_EQ(d5->perms("/public"), "r0");
    EXPECT_EQ(d5->rm("/public"), "EACCES");
    EXPECT_EQ(d5->mkdir("/public"), "EACCES");
}

TEST(xenstored_permissions, missing_node_reports_enoent_only_if_parent_readable) {
    server_fixture fx;
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    ASSERT_EQ(d0->write("/open", ""), "");
    ASSERT_EQ(d0->set_perms("/open", {"r0"}), "");
    ASSERT_EQ(d0->write("/closed", ""), "");
    EXPECT_EQ(d5->read("/open/missing"), "ERR:ENOENT");
    EXPECT_EQ(d5->read("/open/missing/deeper"), "ERR:ENOENT");
    EXPECT_EQ(d5->read("/closed/missing"), "ERR:EACCES");
    // Creating needs write access on the nearest existing ancestor.
    EXPECT_EQ(d5->write("/open/new", "v"), "EACCES");
    EXPECT_EQ(d5->write("/closed/new", "v"), "EACCES");
}

TEST(xenstored_permissions, domain_home_and_relative_paths) {
    server_fixture fx;
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    ASSERT_EQ(d0->mkdir("/local/domain/5"), "");
    ASSERT_EQ(d0->set_perms("/local/domain/5", {"n5"}), "");
    EXPECT_EQ(d5->write("data/status", "ready"), "");
    EXPECT_EQ(d0->read("/local/domain/5/data/status"), "ready");
    EXPECT_EQ(d5->read("data/status"), "ready");
    // Nodes a domain creates are its own: entry 0 names it.
    EXPECT_EQ(d0->perms("/local/domain/5/data/status"), "n5");
    EXPECT_EQ(d0->perms("/local/domain/5/data"), "n5");
    // Another domain sees nothing of it.
    auto d6 = fx.domain(6);
    EXPECT_EQ(d6->read("/local/domain/5/data/status"), "ERR:EACCES");
}

TEST(xenstored_permissions, implicit_parents_inherit_permissions) {
    server_fixture fx;
    auto d0 = fx.dom0();
    ASSERT_EQ(d0->write("/top", ""), "");
    ASSERT_EQ(d0->set_perms("/top", {"r2", "b3"}), "");
    ASSERT_EQ(d0->write("/top/a/b/c", "v"), "");
    EXPECT_EQ(d0->perms("/top/a"), "r2,b3");
    EXPECT_EQ(d0->perms("/top/a/b"), "r2,b3");
    EXPECT_EQ(d0->perms("/top/a/b/c"), "r2,b3");
    // An unprivileged creator becomes the owner of what it creates, keeping the rest.
    auto d3 = fx.domain(3);
    ASSERT_EQ(d3->write("/top/x/y", "w"), "");
    EXPECT_EQ(d0->perms("/top/x"), "r3,b3");
    EXPECT_EQ(d0->perms("/top/x/y"), "r3,b3");
}

TEST(xenstored_permissions, set_perms_only_by_owner_or_dom0) {
    server_fixture fx;
    auto d0 = fx.dom0();
    auto d5 = fx.domain(5);
    auto d6 = fx.domain(6);
    ASSERT_EQ(d0->write("/n", "v"), "");
    ASSERT_EQ(d0->set_perms("/n", {"b0"}), "");
    // Write access is not ownership.
    EXPECT_EQ(d5->set_perms("/n", {"b0", "r6"}), "EACCES");
    ASSERT_EQ(d0->set_perms("/n", {"n5"}), "");
    EXPECT_EQ(d5->set_perms("/n", {"n5", "r6"}), "");
    EXPECT_EQ(d6->read("/n"), "v");
    // An owner may not give the node away; dom0 may.
    EXPECT_EQ(d5->set_perms("/n", {"n6"}), "EPERM");
    EXPECT_EQ(d0->set_perms("/n", {"n6"}), "");
    EXPECT_EQ(d5->set_perms("/n", {"n5"}), "EACCES");
}

TEST(xenstored_permissions, set_perms_rejects_bad_permission_strings) {
    server_fixture fx;
    auto d0 = fx.dom0();
    ASSERT_EQ(d0->write("/n", "v"), "");
    EXPECT_EQ(d0->set_perms("/n", {"x0"}), "EINVAL");
    EXPECT_EQ(d0->set_perms("/n", {"r"}), "EINVAL");
    EXPECT_EQ(d0->set_perms("/n", {"r1a"}), "EINVAL");
    EXPECT_EQ(d0->set_perms("/n", {"r70000"}), "EINVAL");
    EXPECT_EQ(d0->set_perms("/n", {"r0", ""}), "EINVAL");
    EXPECT_EQ(d0->set_perms("/n", {}), "EINVAL");
    EXPECT_EQ(d0->perms("/n"), "n0");
}

TEST(xenstored_permissions, privileged_requests_refused_for_domu) {
    server_fixture fx;
    auto d5 = fx.domain(5);
    EXPECT_EQ(d5->call(XS_CONTROL, "help\0"s).error(), "EACCES");
    EXPECT_EQ(d5->call(XS_INTRODUCE,
                       "7\0"s
                       "0\0"s
                       "1\0"s)
                  .error(),
              "EACCES");
    EXPECT_EQ(d5->call(XS_RELEASE, "7\0"s).error(), "EACCES");
    EXPECT_EQ(d5->call(XS_IS_DOMAIN_INTRODUCED, "0\0"s).error(), "EACCES");
    // Special paths: only dom0 (n0) may watch them... the registration works, but no
    // event reaches a domain without read access.
    EXPECT_EQ(d5->set_perms("@releaseDomain", {"r5"}), "EACCES");
}

}  // namespace
}  // namespace jitsu::xenstored
