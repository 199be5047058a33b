// Persistence: the file format round trip, the journal across reopen and compaction,
// and refusal of torn, corrupt or inconsistent files.
#include "xenstored/persist.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "harness.h"
#include "store_contents.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::server_fixture;
namespace fs = std::filesystem;

std::map<std::string, std::string> contents(const store& s) { return testing::store_contents(s); }

class xenstored_persist : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = fs::temp_directory_path() /
              ("xsd-persist-" + std::to_string(::getpid()) + "-" +
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

// Writes /a = 1, then /b/0 .. /b/<B_NODES - 1> = VALUE_B in one transaction, through a
// journal: the file ends with that transaction's record. Returns the file and the
// offset where that record starts.
std::pair<std::string, std::size_t> two_records(xenstored_persist& t, const std::string& file,
                                                const std::string& value_b, int b_nodes = 1) {
    std::size_t before_b = 0;
    {
        store initial;
        auto j = journal::open({file}, initial);
        core state(quota_config{}, std::move(initial));
        state.set_persistence(j.get());
        request_handler handler(state);
        testing::client c(state, handler, 0);
        EXPECT_EQ(c.write("/a", "1"), "");
        before_b = fs::file_size(file);
        const std::uint32_t tx = c.start();
        EXPECT_NE(tx, 0u);
        for (int i = 0; i < b_nodes; ++i)
            EXPECT_EQ(c.write("/b/" + std::to_string(i), value_b, tx), "");
        EXPECT_EQ(c.end(tx), "");
    }
    (void)t;
    std::ifstream in(file, std::ios::binary);
    return {std::string(std::istreambuf_iterator<char>(in), {}), before_b};
}

TEST_F(xenstored_persist, torn_tail_refused_by_strict_load) {
    const auto [good, before_b] = two_records(*this, file, "2");
    EXPECT_EQ(load_error(good), "");
    for (std::size_t cut = 1; cut < good.size() - before_b; ++cut) {
        auto msg = load_error(good.substr(0, good.size() - cut));
        EXPECT_NE(msg.find("torn"), std::string::npos) << cut << ": " << msg;
    }
}

// Issue 11 item 1: kill -9 during a write leaves an incomplete last record, which was
// never acknowledged. The journal drops it, rewrites the file and starts.
TEST_F(xenstored_persist, torn_tail_dropped_on_open) {
    const auto [good, before_b] = two_records(*this, file, "2");
    for (std::size_t keep = before_b + 1; keep < good.size(); ++keep) {
        write_all(good.substr(0, keep));
        store s;
        std::unique_ptr<journal> j;
        ASSERT_NO_THROW(j = journal::open({file}, s)) << "cut at " << keep;
        ASSERT_NE(s.find("/a"), nullptr) << keep;
        EXPECT_EQ(s.find("/a")->value, "1") << keep;
        EXPECT_EQ(s.find("/b"), nullptr) << keep;
        j.reset();
        EXPECT_EQ(load_error(read_all()), "") << "rewritten without the torn record, cut " << keep;
    }
}

// As seen: ~200 KB records, the cut on a 4096-byte page boundary.
TEST_F(xenstored_persist, torn_large_record_on_page_boundary_dropped) {
    const auto [good, before_b] = two_records(*this, file, std::string(3500, 'x'), 60);
    ASSERT_GT(good.size() - before_b, 200'000u);
    std::size_t keep = (before_b / 4096 + 2) * 4096;
    ASSERT_LT(keep, good.size());
    write_all(good.substr(0, keep));
    store s;
    ASSERT_NO_THROW(journal::open({file}, s));
    EXPECT_NE(s.find("/a"), nullptr);
    EXPECT_EQ(s.find("/b"), nullptr);
}

// Damage before the tail is still refused: a length field pointing past the end while the
// whole record is there (more records follow) is not a cut write.
TEST_F(xenstored_persist, damaged_length_before_tail_refused) {
    const auto [good, before_b] = two_records(*this, file, "2");
    // The record before /b's (the one holding /a): grow its length field past the end.
    std::size_t off = persist_format::magic.size();
    std::size_t prev = off;
    while (off < before_b) {
        prev = off;
        std::uint32_t len = 0;
        for (int i = 0; i < 4; ++i)
            len |= std::uint32_t(static_cast<unsigned char>(good[off + i])) << (8 * i);
        off += persist_format::record_header_size + len;
    }
    std::string bad = good;
    bad[prev + 2] = static_cast<char>(bad[prev + 2] ^ 0x40);  // +4 MiB
    write_all(bad);
    store s;
    try {
        journal::open({file}, s);
        FAIL() << "a damaged length field was taken for a torn tail";
    } catch (const persist_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("refusing"), std::string::npos) << msg;
        EXPECT_NE(msg.find("damaged"), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos);  // one line
    }
    EXPECT_EQ(read_all(), bad);  // left alone for the operator
    // A checksum failure in the last, complete record is damage too.
    bad = good;
    bad.back() = static_cast<char>(bad.back() ^ 1);
    write_all(bad);
    EXPECT_THROW(journal::open({file}, s), persist_error);
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
