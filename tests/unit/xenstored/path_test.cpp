// Node-name rules (xenstored's is_valid_nodename) and canonicalisation.
#include "xenstored/path.h"

#include <gtest/gtest.h>

#include "xenstore/wire.h"

namespace jitsu::xenstored {
namespace {

constexpr std::size_t max = xenstore::rel_path_max;

TEST(xenstored_path, accepts_valid_names) {
    for (const char* p : {"/", "/a", "/a/b", "/local/domain/0/data", "/A-Z_a-z0-9@x",
                          "/@introduceDomain", "/x-y/z_w"}) {
        EXPECT_TRUE(is_valid_path(p, max)) << p;
    }
}

TEST(xenstored_path, rejects_invalid_names) {
    for (const char* p : {"", "a", "a/b", "//", "/a//b", "/a/", "/a b", "/a.b", "/a:b", "/a\tb",
                          "/é", "@introduceDomain", "/a/b/"}) {
        EXPECT_FALSE(is_valid_path(p, max)) << p;
    }
}

TEST(xenstored_path, length_limit_discounts_local_domain_prefix) {
    // Outside /local/domain/N/: the whole name counts.
    const std::string at_limit = "/" + std::string(max - 1, 'a');
    EXPECT_TRUE(is_valid_path(at_limit, max));
    EXPECT_FALSE(is_valid_path(at_limit + "a", max));
    // Under /local/domain/N/: only what follows the prefix counts.
    const std::string prefix = "/local/domain/12345/";
    EXPECT_EQ(local_domain_prefix(prefix + "x"), prefix.size());
    EXPECT_TRUE(is_valid_path(prefix + std::string(max, 'a'), max));
    EXPECT_FALSE(is_valid_path(prefix + std::string(max + 1, 'a'), max));
    // Six digits are not a domain prefix (xenstored reads at most five).
    EXPECT_EQ(local_domain_prefix("/local/domain/123456/x"), 0u);
    EXPECT_EQ(local_domain_prefix("/local/domain/5"), 0u);
    // A smaller path-max quota applies.
    EXPECT_TRUE(is_valid_path("/abcd", 5));
    EXPECT_FALSE(is_valid_path("/abcde", 5));
}

TEST(xenstored_path, absolute_limit_always_applies) {
    const std::string long_path = "/" + std::string(xenstore::abs_path_max, 'a');
    EXPECT_FALSE(is_valid_path(long_path, xenstore::abs_path_max + 10));
}

TEST(xenstored_path, canonicalize_relative_under_implicit_path) {
    std::string scratch;
    EXPECT_EQ(canonicalize("/local/domain/0", "data/x", scratch), "/local/domain/0/data/x");
    EXPECT_EQ(canonicalize("/local/domain/7", "a", scratch), "/local/domain/7/a");
    EXPECT_EQ(canonicalize("/local/domain/7", "/abs", scratch), "/abs");
    EXPECT_EQ(canonicalize("/local/domain/7", "@releaseDomain", scratch), "@releaseDomain");
    // The empty name becomes the implicit path plus '/', which is invalid.
    auto empty = canonicalize("/local/domain/7", "", scratch);
    EXPECT_EQ(empty, "/local/domain/7/");
    EXPECT_FALSE(is_valid_path(empty, max));
}

TEST(xenstored_path, parent_basename_and_ancestry) {
    EXPECT_EQ(parent_of("/a/b/c"), "/a/b");
    EXPECT_EQ(parent_of("/a"), "/");
    EXPECT_EQ(parent_of("/"), "/");
    EXPECT_EQ(basename_of("/a/b"), "b");
    EXPECT_EQ(basename_of("/"), "");
    EXPECT_TRUE(is_same_or_below("/a/b", "/a"));
    EXPECT_TRUE(is_same_or_below("/a", "/a"));
    EXPECT_TRUE(is_same_or_below("/anything", "/"));
    EXPECT_FALSE(is_same_or_below("/ab", "/a"));
    EXPECT_EQ(child_path("/", "x"), "/x");
    EXPECT_EQ(child_path("/a", "x"), "/a/x");
    EXPECT_EQ(domain_path(5), "/local/domain/5");
}

}  // namespace
}  // namespace jitsu::xenstored
