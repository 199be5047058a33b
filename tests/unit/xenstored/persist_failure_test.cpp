// Issue 11 item 2: a store file that cannot be written (a full disk, a disk quota, EIO)
// refuses the change concerned with the protocol's errno, undoes it in memory (nodes,
// watch events, a transaction's whole batch), never leaves part of a record in the file,
// keeps serving, and accepts writes again once there is room. Failures are injected
// through the journal's file_ops seam: writes succeed up to a byte budget (the last one
// partially, as write(2) does on a filling disk), then fail.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "harness.h"
#include "store_contents.h"
#include "xenstored/persist.h"

namespace jitsu::xenstored {
namespace {

using namespace std::string_literals;
using testing::client;
namespace fs = std::filesystem;
using events = std::vector<std::pair<std::string, std::string>>;

constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

// A disk with `room` bytes left for writes; past it, writes fail with `error`.
struct fake_disk {
    std::size_t room = unlimited;
    int error = ENOSPC;
    // Writes larger than this fail at once (0: none); tells snapshots from records.
    std::size_t fail_writes_over = 0;
    int sync_error = 0;      // fdatasync fails with this (0: succeeds)
    int truncate_error = 0;  // ftruncate fails with this (0: succeeds)
    std::uint64_t failed_writes = 0;

    file_ops ops() {
        file_ops o;
        o.write = [this](int fd, const void* data, std::size_t size) -> ssize_t {
            if (room == 0 || (fail_writes_over != 0 && size > fail_writes_over)) {
                ++failed_writes;
                errno = error;
                return -1;
            }
            const ssize_t n = ::write(fd, data, std::min(size, room));
            if (n > 0 && room != unlimited) room -= static_cast<std::size_t>(n);
            return n;
        };
        o.fdatasync = [this](int fd) {
            if (sync_error != 0) {
                errno = sync_error;
                return -1;
            }
            return ::fdatasync(fd);
        };
        o.ftruncate = [this](int fd, off_t size) {
            if (truncate_error != 0) {
                errno = truncate_error;
                return -1;
            }
            return ::ftruncate(fd, size);
        };
        return o;
    }
};

std::map<std::string, std::string> contents(const store& s) { return testing::store_contents(s); }

class xenstored_persist_failure : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = fs::temp_directory_path() /
              ("xsd-persist-fail-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
        file = (dir / "store").string();
    }
    void TearDown() override {
        close();
        fs::remove_all(dir);
    }

    // A server on `file`, its writes going through `disk`.
    void open(journal::options opts = {}) {
        opts.path = file;
        opts.ops = disk.ops();
        store initial;
        j = journal::open(opts, initial);
        state = std::make_unique<core>(quota_config{}, std::move(initial));
        state->set_persistence(j.get());
        handler = std::make_unique<request_handler>(*state);
        c = std::make_unique<client>(*state, *handler, 0);
        watcher = std::make_unique<client>(*state, *handler, 0);
        EXPECT_EQ(watcher->watch("/", "w"), "");
        watcher->events();  // the initial event
    }
    void close() {
        c.reset();
        watcher.reset();
        handler.reset();
        state.reset();
        j.reset();
    }
    std::string read_file() const {
        std::ifstream in(file, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    // The file as a restart would load it, strictly: a torn or damaged record anywhere
    // (a partial write left behind) throws.
    std::map<std::string, std::string> on_disk() const {
        return contents(persist_format::load(read_file()));
    }
    std::map<std::string, std::string> in_memory() const { return contents(state->tree()); }

    fs::path dir;
    std::string file;
    fake_disk disk;
    std::unique_ptr<journal> j;
    std::unique_ptr<core> state;
    std::unique_ptr<request_handler> handler;
    std::unique_ptr<client> c;
    std::unique_ptr<client> watcher;
};

TEST_F(xenstored_persist_failure, full_disk_refuses_the_write_then_recovers) {
    open();
    ASSERT_EQ(c->write("/vm/a", "1"), "");
    ASSERT_EQ(c->write("/vm/b", "2"), "");
    watcher->events();
    const auto before = in_memory();
    ASSERT_EQ(on_disk(), before);

    disk.room = 10;  // the next record is cut after 10 bytes, as on a filling disk
    auto reply = c->request(XS_WRITE, "/vm/new\0value"s);
    ASSERT_EQ(reply.size(), 1u) << "one reply, no OK before it";
    EXPECT_EQ(reply[0].error(), "ENOSPC");
    EXPECT_EQ(c->write("/vm/a", "changed"), "ENOSPC");
    EXPECT_EQ(c->mkdir("/vm/dir"), "ENOSPC");
    EXPECT_EQ(c->rm("/vm"), "ENOSPC");
    EXPECT_EQ(c->set_perms("/vm/a", {"r0"}), "ENOSPC");

    // Nothing of the refused writes is visible, no watch fired, reads are served.
    EXPECT_EQ(in_memory(), before);
    EXPECT_EQ(watcher->events(), events{});
    EXPECT_EQ(c->read("/vm/a"), "1");
    EXPECT_EQ(c->read("/vm/new"), "ERR:ENOENT");
    EXPECT_EQ(c->dir("/vm"), "a,b");
    EXPECT_FALSE(state->tree().check_consistency());
    // The partial record was cut off: the file loads strictly and matches memory.
    EXPECT_EQ(on_disk(), before);
    EXPECT_EQ(j->file_bytes(), read_file().size());
    EXPECT_EQ(state->stats().persist_failures, 5u);
    EXPECT_EQ(j->stats().write_failures, 5u);

    disk.room = unlimited;  // space freed
    EXPECT_EQ(c->write("/vm/new", "value"), "");
    EXPECT_EQ(watcher->events(), (events{{"/vm/new", "w"}}));
    EXPECT_EQ(c->read("/vm/new"), "value");
    EXPECT_EQ(on_disk(), in_memory());

    // A restart loads every acknowledged write.
    const auto acknowledged = in_memory();
    close();
    store reloaded;
    auto j2 = journal::open({file}, reloaded);
    EXPECT_EQ(contents(reloaded), acknowledged);
}

TEST_F(xenstored_persist_failure, failed_commit_undoes_the_whole_transaction) {
    open();
    ASSERT_EQ(c->write("/t/keep", "old"), "");
    ASSERT_EQ(c->write("/t/gone", "x"), "");
    watcher->events();
    const auto before = in_memory();

    const std::uint32_t tx = c->start();
    ASSERT_NE(tx, 0u);
    ASSERT_EQ(c->write("/t/keep", "new", tx), "");
    ASSERT_EQ(c->write("/t/new/deep/node", "v", tx), "");
    ASSERT_EQ(c->rm("/t/gone", tx), "");
    disk.room = 0;
    EXPECT_EQ(c->end(tx), "ENOSPC");

    EXPECT_EQ(in_memory(), before);
    EXPECT_EQ(watcher->events(), events{});
    EXPECT_EQ(c->read("/t/keep"), "old");
    EXPECT_EQ(c->read("/t/gone"), "x");
    EXPECT_EQ(c->read("/t/new"), "ERR:ENOENT");
    EXPECT_FALSE(state->tree().check_consistency());
    EXPECT_EQ(on_disk(), before);
    // The transaction is over, as after any failed commit.
    EXPECT_EQ(c->end(tx), "ENOENT");

    disk.room = unlimited;
    const std::uint32_t again = c->start();
    ASSERT_EQ(c->write("/t/keep", "new", again), "");
    EXPECT_EQ(c->end(again), "");
    EXPECT_EQ(c->read("/t/keep"), "new");
    EXPECT_EQ(on_disk(), in_memory());
}

TEST_F(xenstored_persist_failure, undone_write_does_not_conflict_open_transactions) {
    // The undo restores nodes with their generations: a transaction that read /x before
    // a refused write to /x commits as if that write never happened.
    open();
    ASSERT_EQ(c->write("/x", "1"), "");
    auto other = std::make_unique<client>(*state, *handler, 0);
    const std::uint32_t tx = other->start();
    ASSERT_EQ(other->read("/x", tx), "1");
    disk.room = 0;
    EXPECT_EQ(c->write("/x", "2"), "ENOSPC");
    disk.room = unlimited;
    ASSERT_EQ(other->write("/y", "from tx", tx), "");
    EXPECT_EQ(other->end(tx), "");
    EXPECT_EQ(on_disk(), in_memory());
}

TEST_F(xenstored_persist_failure, quota_counts_survive_an_undone_write) {
    open();
    auto dom5 = std::make_unique<client>(*state, *handler, 5);
    ASSERT_EQ(c->write("/local/domain/5/x", ""), "");
    ASSERT_EQ(c->set_perms("/local/domain/5", {"b5"}), "");
    ASSERT_EQ(c->set_perms("/local/domain/5/x", {"b5"}), "");
    const std::uint32_t owned = state->tree().owned_nodes(5);
    disk.room = 3;
    EXPECT_EQ(dom5->write("a/b/c", "v"), "ENOSPC");
    EXPECT_EQ(dom5->set_perms("x", {"r5"}), "ENOSPC");
    EXPECT_EQ(state->tree().owned_nodes(5), owned);
    EXPECT_FALSE(state->tree().check_consistency());
}

TEST_F(xenstored_persist_failure, errors_use_the_protocol_names) {
    open();
    disk.room = 0;
    disk.error = EDQUOT;  // a disk quota is a full disk to the client
    EXPECT_EQ(c->write("/q", "1"), "ENOSPC");
    disk.error = EIO;
    EXPECT_EQ(c->write("/q", "1"), "EIO");
    disk.error = EROFS;
    EXPECT_EQ(c->write("/q", "1"), "EROFS");
    EXPECT_EQ(c->read("/q"), "ERR:ENOENT");
}

TEST_F(xenstored_persist_failure, failed_sync_is_refused_and_cut) {
    journal::options opts;
    opts.fsync_each = true;
    open(opts);
    ASSERT_EQ(c->write("/s", "1"), "");
    disk.sync_error = EIO;
    EXPECT_EQ(c->write("/s", "2"), "EIO");
    EXPECT_EQ(c->read("/s"), "1");
    EXPECT_EQ(on_disk(), in_memory());  // the unsynced record was cut off
    disk.sync_error = 0;
    EXPECT_EQ(c->write("/s", "3"), "");
    EXPECT_EQ(on_disk(), in_memory());
}

TEST_F(xenstored_persist_failure, cut_that_fails_blocks_appends_until_it_works) {
    // If even the cut fails, the partial record must not end up between two complete
    // ones: every later write is refused until the cut succeeds.
    open();
    ASSERT_EQ(c->write("/c", "1"), "");
    disk.room = 5;
    disk.truncate_error = EIO;
    EXPECT_EQ(c->write("/c", "2"), "ENOSPC");
    disk.room = unlimited;  // room again, but the garbage is still there
    EXPECT_EQ(c->write("/c", "3"), "EIO");
    EXPECT_EQ(c->read("/c"), "1");
    disk.truncate_error = 0;
    EXPECT_EQ(c->write("/c", "4"), "");
    EXPECT_EQ(on_disk(), in_memory());
    EXPECT_EQ(c->read("/c"), "4");
}

TEST_F(xenstored_persist_failure, failed_compaction_keeps_the_old_file) {
    journal::options opts;
    opts.compact_min_bytes = 2048;
    open(opts);
    disk.fail_writes_over = 1500;  // records fit, whole-file snapshots do not
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(c->write("/k/" + std::to_string(i % 7), std::string(200, 'a' + i % 26)), "") << i;
    }
    EXPECT_GT(j->stats().compaction_failures, 0u);
    EXPECT_EQ(j->stats().compactions, 0u);
    EXPECT_FALSE(fs::exists(file + ".tmp"));
    EXPECT_EQ(on_disk(), in_memory());
    disk.fail_writes_over = 0;
    for (int i = 0; i < 100; ++i) ASSERT_EQ(c->write("/k/x", std::to_string(i)), "");
    EXPECT_GT(j->stats().compactions, 0u);
    EXPECT_EQ(on_disk(), in_memory());
}

TEST_F(xenstored_persist_failure, restart_on_a_full_disk_appends_to_the_loaded_file) {
    // A restart while the disk is still full cannot write a fresh snapshot: it cuts the
    // torn tail a full disk left and appends to the file as loaded.
    open();
    ASSERT_EQ(c->write("/r/a", "1"), "");
    const auto acknowledged = in_memory();
    close();
    {
        std::ofstream out(file, std::ios::binary | std::ios::app);
        out << "\x40\x00\x00\x00\x01\x02\x03\x04partial"s;  // a record cut short
    }
    disk.room = 0;
    open();
    EXPECT_EQ(in_memory(), acknowledged);
    EXPECT_EQ(on_disk(), acknowledged);  // strict load: the tail was cut
    EXPECT_EQ(c->write("/r/b", "2"), "ENOSPC");
    disk.room = unlimited;
    EXPECT_EQ(c->write("/r/b", "2"), "");
    EXPECT_EQ(on_disk(), in_memory());
}

}  // namespace
}  // namespace jitsu::xenstored
