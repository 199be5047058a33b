// Every request type through the wire codec and the request handler.
#include <gtest/gtest.h>

#include "harness.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::client;
using testing::server_fixture;

class xenstored_handler : public ::testing::Test {
  protected:
    server_fixture fx;
    std::unique_ptr<client> d0 = fx.dom0();
};

TEST_F(xenstored_handler, initial_tree) {
    EXPECT_EQ(d0->dir("/"), "tool");
    EXPECT_EQ(d0->dir("/tool"), "xenstored");
    EXPECT_EQ(d0->read("/tool/xenstored"), "");
    EXPECT_EQ(d0->perms("/"), "n0");
}

TEST_F(xenstored_handler, reply_echoes_request_ids_and_type) {
    auto msgs = d0->request(XS_WRITE, "/a\0v"s, 0);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].type, static_cast<std::uint32_t>(XS_WRITE));
    EXPECT_EQ(msgs[0].payload, "OK\0"s);
    EXPECT_NE(msgs[0].req_id, 0u);
    auto tx = d0->start();
    auto m = d0->call(XS_READ, "/a\0"s, tx);
    EXPECT_EQ(m.type, static_cast<std::uint32_t>(XS_READ));
    EXPECT_EQ(m.tx_id, tx);
    EXPECT_EQ(m.payload, "v");  // no NUL after a value
}

TEST_F(xenstored_handler, read_write_binary_values) {
    EXPECT_EQ(d0->write("/bin", "a\0b\0"s), "");
    EXPECT_EQ(d0->read("/bin"), "a\0b\0"s);
    EXPECT_EQ(d0->write("/empty", ""), "");
    EXPECT_EQ(d0->read("/empty"), "");
    const std::string big(4000, 'x');
    EXPECT_EQ(d0->write("/big", big), "");
    EXPECT_EQ(d0->read("/big"), big);
    EXPECT_EQ(d0->read("/missing"), "ERR:ENOENT");
}

TEST_F(xenstored_handler, write_creates_parents_and_relative_paths) {
    EXPECT_EQ(d0->write("/x/y/z", "1"), "");
    EXPECT_EQ(d0->read("/x/y"), "");
    EXPECT_EQ(d0->dir("/x"), "y");
    EXPECT_EQ(d0->write("rel/key", "2"), "");
    EXPECT_EQ(d0->read("/local/domain/0/rel/key"), "2");
    EXPECT_EQ(d0->read("rel/key"), "2");
}

TEST_F(xenstored_handler, malformed_payloads_are_einval) {
    EXPECT_EQ(d0->call(XS_READ, "").error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_READ, "/a").error(), "EINVAL");         // no NUL
    EXPECT_EQ(d0->call(XS_READ, "/a\0/b\0"s).error(), "EINVAL");  // two args
    EXPECT_EQ(d0->call(XS_WRITE, "/a").error(), "EINVAL");        // no NUL at all
    EXPECT_EQ(d0->call(XS_MKDIR, "").error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_RM, "/a").error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_DIRECTORY, "/\0x"s).error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_GET_PERMS, "").error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_SET_PERMS, "/a\0"s).error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_WATCH, "/a\0"s).error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_WATCH, "/a\0t\0x\0"s).error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_UNWATCH, "/a").error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_DIRECTORY_PART, "/\0"s).error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_GET_DOMAIN_PATH, "").error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_INTRODUCE,
                       "1\0"s
                       "2\0"s)
                  .error(),
              "EINVAL");
    EXPECT_EQ(d0->call(XS_TRANSACTION_END, "X\0"s).error(), "EINVAL");
}

TEST_F(xenstored_handler, invalid_paths_are_einval) {
    for (std::string p : {"/a/", "//a", "/a b", "/a.b", "@introduceDomain", "/a//b"}) {
        EXPECT_EQ(d0->write(p, "v"), "EINVAL") << p;
        EXPECT_EQ(d0->read(p), "ERR:EINVAL") << p;
    }
    EXPECT_EQ(d0->write("/" + std::string(2048, 'a'), "v"), "EINVAL");
    EXPECT_EQ(d0->write("/" + std::string(2047, 'a'), "v"), "");
}

TEST_F(xenstored_handler, mkdir_keeps_existing_values) {
    EXPECT_EQ(d0->write("/m", "keep"), "");
    EXPECT_EQ(d0->mkdir("/m"), "");
    EXPECT_EQ(d0->read("/m"), "keep");
    EXPECT_EQ(d0->mkdir("/m/n/o"), "");
    EXPECT_EQ(d0->read("/m/n/o"), "");
}

TEST_F(xenstored_handler, rm_subtree_missing_and_root) {
    ASSERT_EQ(d0->write("/r/a/b", "1"), "");
    ASSERT_EQ(d0->write("/r/c", "2"), "");
    EXPECT_EQ(d0->rm("/r"), "");
    EXPECT_EQ(d0->read("/r/a/b"), "ERR:ENOENT");
    EXPECT_EQ(d0->read("/r"), "ERR:ENOENT");
    EXPECT_EQ(d0->dir("/"), "tool");
    EXPECT_EQ(d0->rm("/r"), "");          // missing, parent exists: fine
    EXPECT_EQ(d0->rm("/r/x"), "ENOENT");  // parent missing too
    EXPECT_EQ(d0->rm("/"), "EINVAL");
    EXPECT_FALSE(fx.state().tree().check_consistency());
}

TEST_F(xenstored_handler, directory_order_and_e2big) {
    ASSERT_EQ(d0->write("/d/b", ""), "");
    ASSERT_EQ(d0->write("/d/a", ""), "");
    ASSERT_EQ(d0->write("/d/c", ""), "");
    EXPECT_EQ(d0->dir("/d"), "b,a,c");  // creation order, as xenstored
    ASSERT_EQ(d0->rm("/d/a"), "");
    EXPECT_EQ(d0->dir("/d"), "b,c");
    // A listing over XENSTORE_PAYLOAD_MAX is E2BIG; DIRECTORY_PART pages it.
    const std::string name(200, 'n');
    for (int i = 0; i < 30; ++i) ASSERT_EQ(d0->write("/big/" + name + std::to_string(i), ""), "");
    EXPECT_EQ(d0->dir("/big"), "ERR:E2BIG");
    std::string all;
    std::uint32_t off = 0;
    std::string gen;
    for (int page = 0; page < 10; ++page) {
        auto m = d0->call(XS_DIRECTORY_PART, "/big\0"s + std::to_string(off) + '\0');
        ASSERT_FALSE(m.is_error()) << m.error();
        ASSERT_LE(m.payload.size(), xenstore::payload_max);
        auto nul = m.payload.find('\0');
        std::string this_gen = m.payload.substr(0, nul);
        if (gen.empty()) gen = this_gen;
        EXPECT_EQ(this_gen, gen);
        std::string chunk = m.payload.substr(nul + 1);
        if (chunk == std::string(1, '\0')) break;  // end of list
        bool last = chunk.size() >= 2 && chunk.substr(chunk.size() - 2) == "\0\0"s;
        if (last) chunk.pop_back();
        all += chunk;
        off += static_cast<std::uint32_t>(chunk.size());
        if (last) break;
    }
    std::string expected;
    for (int i = 0; i < 30; ++i) expected += (i ? "," : "") + name + std::to_string(i);
    EXPECT_EQ(client::join(all), expected);
    // Past the end: generation, then an empty string.
    auto end = d0->call(XS_DIRECTORY_PART,
                        "/big\0"s
                        "999999\0"s);
    EXPECT_EQ(end.payload, gen + '\0' + '\0');
}

TEST_F(xenstored_handler, get_and_set_perms) {
    ASSERT_EQ(d0->write("/p", "v"), "");
    EXPECT_EQ(d0->perms("/p"), "n0");
    EXPECT_EQ(d0->set_perms("/p", {"r5", "w6", "b7", "n8"}), "");
    EXPECT_EQ(d0->perms("/p"), "r5,w6,b7,n8");
    auto raw = d0->call(XS_GET_PERMS, "/p\0"s);
    EXPECT_EQ(raw.payload, "r5\0w6\0b7\0n8\0"s);
    EXPECT_EQ(d0->set_perms("/missing", {"r0"}), "ENOENT");
    // Special paths take permissions too.
    EXPECT_EQ(d0->set_perms("@releaseDomain", {"n0", "r5"}), "");
    EXPECT_EQ(d0->set_perms("@other", {"n0"}), "EINVAL");
}

TEST_F(xenstored_handler, get_domain_path) {
    EXPECT_EQ(d0->call(XS_GET_DOMAIN_PATH, "7\0"s).payload, "/local/domain/7\0"s);
    EXPECT_EQ(d0->call(XS_GET_DOMAIN_PATH, "0\0"s).payload, "/local/domain/0\0"s);
}

TEST_F(xenstored_handler, introduce_release_is_introduced) {
    EXPECT_EQ(d0->call(XS_IS_DOMAIN_INTRODUCED, "0\0"s).payload, "T\0"s);
    EXPECT_EQ(d0->call(XS_IS_DOMAIN_INTRODUCED, "3\0"s).payload, "F\0"s);
    EXPECT_EQ(d0->call(XS_IS_DOMAIN_INTRODUCED, "32752\0"s).payload, "T\0"s);  // DOMID_SELF
    ASSERT_EQ(d0->watch("@introduceDomain", "in"), "");
    ASSERT_EQ(d0->watch("@releaseDomain", "out"), "");
    d0->events();
    EXPECT_EQ(client::ack(d0->call(XS_INTRODUCE,
                                   "3\0"s
                                   "1234\0"s
                                   "5\0"s)),
              "");
    EXPECT_EQ(d0->call(XS_IS_DOMAIN_INTRODUCED, "3\0"s).payload, "T\0"s);
    auto ev = d0->events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0], std::make_pair("@introduceDomain"s, "in"s));
    EXPECT_EQ(d0->call(XS_INTRODUCE,
                       "3\0"s
                       "1234\0"s
                       "0\0"s)
                  .error(),
              "EINVAL");  // port 0
    EXPECT_EQ(client::ack(d0->call(XS_RESUME, "3\0"s)), "");
    EXPECT_EQ(client::ack(d0->call(XS_SET_TARGET,
                                   "3\0"s
                                   "0\0"s)),
              "");
    EXPECT_EQ(client::ack(d0->call(XS_RELEASE, "3\0"s)), "");
    ev = d0->events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0], std::make_pair("@releaseDomain"s, "out"s));
    EXPECT_EQ(d0->call(XS_IS_DOMAIN_INTRODUCED, "3\0"s).payload, "F\0"s);
    EXPECT_EQ(d0->call(XS_RELEASE, "3\0"s).error(), "ENOENT");
    EXPECT_EQ(d0->call(XS_RELEASE, "0\0"s).error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_RESUME, "3\0"s).error(), "ENOENT");
}

TEST_F(xenstored_handler, control_commands) {
    auto help = d0->call(XS_CONTROL, "help\0"s);
    EXPECT_NE(help.payload.find("quota"), std::string::npos);
    EXPECT_NE(help.payload.find("print"), std::string::npos);
    EXPECT_EQ(client::ack(d0->call(XS_CONTROL, "print\0hello\0"s)), "");
    EXPECT_EQ(client::ack(d0->call(XS_CONTROL, "check\0"s)), "");
    EXPECT_EQ(client::ack(d0->call(XS_CONTROL, "log\0off\0"s)), "");
    EXPECT_EQ(d0->call(XS_CONTROL, "log\0maybe\0"s).error(), "EINVAL");
    auto q = d0->call(XS_CONTROL, "quota\0"s);
    EXPECT_EQ(q.payload.rfind("Quota settings:\n", 0), 0u);
    EXPECT_NE(q.payload.find("watches          :      128"), std::string::npos) << q.payload;
    EXPECT_EQ(client::ack(d0->call(XS_CONTROL,
                                   "quota\0set\0watches\0"
                                   "5\0"s)),
              "");
    EXPECT_EQ(fx.state().quotas().watches, 5u);
    EXPECT_EQ(d0->call(XS_CONTROL,
                       "quota\0set\0nonsense\0"
                       "5\0"s)
                  .error(),
              "EINVAL");
    auto dom = d0->call(XS_CONTROL,
                        "quota\0"
                        "0\0"s);
    EXPECT_EQ(dom.payload.rfind("Domain 0:\n", 0), 0u) << dom.payload;
    EXPECT_EQ(d0->call(XS_CONTROL,
                       "quota\0"
                       "99\0"s)
                  .error(),
              "ENOENT");
    EXPECT_FALSE(d0->call(XS_CONTROL, "quota-soft\0"s).is_error());
    EXPECT_EQ(d0->call(XS_CONTROL, "no-such-command\0"s).error(), "EINVAL");
    EXPECT_EQ(d0->call(XS_CONTROL, "").error(), "EINVAL");
}

TEST_F(xenstored_handler, unknown_and_reply_only_types_are_enosys) {
    EXPECT_EQ(d0->call(XS_TYPE_COUNT, "").error(), "ENOSYS");
    EXPECT_EQ(d0->call(12345, "x").error(), "ENOSYS");
    EXPECT_EQ(d0->call(XS_WATCH_EVENT, "/a\0t\0"s).error(), "ENOSYS");
    EXPECT_EQ(d0->call(XS_ERROR, "EINVAL\0"s).error(), "ENOSYS");
    EXPECT_EQ(d0->call(XS_SET_TARGET + 1, "").error(), "ENOSYS");  // XS_RESTRICT, removed
}

TEST_F(xenstored_handler, unknown_transaction_id_is_enoent) {
    EXPECT_EQ(d0->call(XS_READ, "/\0"s, 77).error(), "ENOENT");
    EXPECT_EQ(d0->call(XS_TRANSACTION_END, "T\0"s, 0).error(), "ENOENT");
    // Watch ignores the transaction id.
    EXPECT_EQ(client::ack(d0->call(XS_WATCH, "/w\0t\0"s, 77)), "");
}

TEST_F(xenstored_handler, reset_watches_drops_watches_and_transactions) {
    ASSERT_EQ(d0->watch("/w", "t"), "");
    auto tx = d0->start();
    ASSERT_NE(tx, 0u);
    EXPECT_EQ(client::ack(d0->call(XS_RESET_WATCHES, "")), "");
    EXPECT_EQ(d0->unwatch("/w", "t"), "ENOENT");
    EXPECT_EQ(d0->read("/", tx), "ERR:ENOENT");
    d0->events();
    ASSERT_EQ(d0->write("/w", "x"), "");
    EXPECT_TRUE(d0->events().empty());
}

}  // namespace
}  // namespace jitsu::xenstored
