// Persistence: the file format round trip, the journal across reopen and compaction,
// and refusal of torn, corrupt or inconsistent files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "harness.h"
#include "xenstored/persist.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::server_fixture;
namespace fs = std::filesystem;

std::map<std::string, std::string> contents(const store& s) {
    std::map<std::string, std::string> out;
    for (const auto& [path, n] : s.nodes()) {
        std::string perms;
        for (auto& p : n.perms) perms += xenstore::format_permission(p) + ",";
        out[path] = n.value + "|" + perms + "|" + n.children;
    }
    return out;
}

class xenstored_persist : public ::testing::Test {
protected:
    void SetUp() override {
        dir = fs::temp_directory_path() / ("xsd-persist-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
        file = (dir / "store").string();
    }
    void TearDown() override { fs::remove_all(dir); }

    std::string read_all() {
        std::ifstream in(file, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    void write_all(const std::string& bytes) {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    std::string load_error(const std::string& bytes) {
        try {
            persist_format::load(bytes);
        } catch (const persist_error& e) {
            return e.what();
        }
        return "";
    }
    // A populated tree through the real handler.
    static void populate(testing::client& c) {
        ASSERT_EQ(c.write("/jitsu/vm/www/ip", "10.0.0.10"), "");
        ASSERT_EQ(c.write("/jitsu/vm/www/state", "booting"), "");
        ASSERT_EQ(c.write("/bin", "a\0b"s), "");
        ASSERT_EQ(c.set_perms("/jitsu/vm", {"n0", "r5"}), "");
        ASSERT_EQ(c.write("/gone/soon", "x"), "");
        ASSERT_EQ(c.rm("/gone"), "");
    }

    fs::path dir;
    std::string file;
};

TEST_F(xenstored_persist, crc32c_known_value) {
    EXPECT_EQ(persist_format::crc32c("123456789"), 0xE3069283u);
}

TEST_F(xenstored_persist, snapshot_round_trip) {
    server_fixture fx;
    auto c = fx.dom0();
    populate(*c);
    auto file_bytes = persist_format::snapshot(fx.state().tree());
    store loaded = persist_format::load(file_bytes);
    EXPECT_EQ(contents(loaded), contents(fx.state().tree()));
    EXPECT_EQ(loaded.owned_nodes(0), fx.state().tree().owned_nodes(0));
    // Children order survives.
    ASSERT_EQ(c->write("/o/z", ""), "");
    ASSERT_EQ(c->write("/o/a", ""), "");
    store again = persist_format::load(persist_format::snapshot(fx.state().tree()));
    EXPECT_EQ(again.find("/o")->children, "z\0a\0"s);
}

TEST_F(xenstored_persist, journal_survives_reopen) {
    std::map<std::string, std::string> expected;
    {
        store initial;
        auto j = journal::open({file}, initial);
        core state(quota_config{}, std::move(initial));
        state.set_persistence(j.get());
        request_handler handler(state);
        testing::client c(state, handler, 0);
        populate(c);  // each call ends a batch: one record each
        EXPECT_GT(j->records(), 0u);
        expected = contents(state.tree());
    }
    // What a kill -9 leaves: the file as written, no clean shutdown needed.
    store reloaded;
    auto j2 = journal::open({file}, reloaded);
    EXPECT_EQ(contents(reloaded), expected);
}

TEST_F(xenstored_persist, missing_file_starts_initial_tree) {
    store s{store::empty_tag{}};
    auto j = journal::open({file}, s);
    EXPECT_EQ(contents(s), contents(store{}));
    EXPECT_TRUE(fs::exists(file));  // written as a snapshot at once
}

TEST_F(xenstored_persist, compaction_keeps_state) {
    std::map<std::string, std::string> expected;
    {
        store initial;
        journal::options opts{file, false, 4096};
        auto j = journal::open(opts, initial);
        core state(quota_config{}, std::move(initial));
        state.set_persistence(j.get());
        request_handler handler(state);
        testing::client c(state, handler, 0);
        for (int i = 0; i < 300; ++i) {
            ASSERT_EQ(c.write("/k/" + std::to_string(i % 17), std::string(100, 'a' + i % 26)), "");
        }
        ASSERT_EQ(c.rm("/k/3"), "");
        EXPECT_GT(j->compactions(), 0u);
        expected = contents(state.tree());
    }
    EXPECT_LT(fs::file_size(file), 300u * 100u);
    store reloaded;
    auto j2 = journal::open({file}, reloaded);
    EXPECT_EQ(contents(reloaded), expected);
}

TEST_F(xenstored_persist, second_server_refused_by_lock) {
    store a;
    auto j = journal::open({file}, a);
    store b;
    try {
        journal::open({file}, b);
        FAIL() << "a second journal on the same file must be refused";
    } catch (const persist_error& e) {
        EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
    }
}

TEST_F(xenstored_persist, torn_file_refused) {
    {
        store initial;
        auto j = journal::open({file}, initial);
        core state(quota_config{}, std::move(initial));
        state.set_persistence(j.get());
        request_handler handler(state);
        testing::client c(state, handler, 0);
        ASSERT_EQ(c.write("/a", "1"), "");
        ASSERT_EQ(c.write("/b", "2"), "");
    }
    const std::string good = read_all();
    EXPECT_EQ(load_error(good), "");
    // Cut anywhere inside the last record (or its header): refused, never half-loaded.
    for (std::size_t cut = 1; cut < 30; ++cut) {
        auto msg = load_error(good.substr(0, good.size() - cut));
        EXPECT_NE(msg.find("torn"), std::string::npos) << cut << ": " << msg;
    }
    write_all(good.substr(0, good.size() - 3));
    store s;
    try {
        journal::open({file}, s);
        FAIL() << "torn file loaded";
    } catch (const persist_error& e) {
        EXPECT_NE(std::string(e.what()).find("refusing"), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);  // one line
    }
    // The refused file is left alone for the operator.
    EXPECT_EQ(read_all(), good.substr(0, good.size() - 3));
}

TEST_F(xenstored_persist, corrupt_files_refused) {
    server_fixture fx;
    auto c = fx.dom0();
    populate(*c);
    const std::string good = persist_format::snapshot(fx.state().tree());
    EXPECT_NE(load_error(""), "");
    EXPECT_NE(load_error("garbage!"), "");
    EXPECT_NE(load_error("JXSDB02\n"), "");
    // Every single flipped bit is caught.
    for (std::size_t i = 0; i < good.size(); i += 7) {
        std::string bad = good;
        bad[i] = static_cast<char>(bad[i] ^ 0x10);
        EXPECT_NE(load_error(bad), "") << "flip at " << i;
    }
    // A record with a valid checksum but a malformed op.
    std::string forged(persist_format::magic);
    persist_format::append_record("Pjunk", forged);
    EXPECT_NE(load_error(forged).find("malformed"), std::string::npos);
    // Well-formed ops that do not make a tree (a node without its parent).
    store orphan{store::empty_tag{}};
    node root;
    root.perms = {{access::none, 0}};
    orphan.replace("/", root);
    node lost;
    lost.perms = {{access::none, 0}};
    orphan.replace("/no/parent", lost);
    std::string payload;
    persist_format::encode_ops(orphan, {"/", "/no/parent"}, payload);
    std::string inconsistent(persist_format::magic);
    persist_format::append_record(payload, inconsistent);
    EXPECT_NE(load_error(inconsistent).find("inconsistent"), std::string::npos);
}

}  // namespace
}  // namespace jitsu::xenstored
