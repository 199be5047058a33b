// --persist FILE: committed state kept in one file, surviving kill -9 and restarts.
//
// File format (all integers little-endian):
//   file   := magic record*                  magic = "JXSDB01\n" (8 bytes)
//   record := u32 length, u32 crc32c(payload), payload[length]
//   payload:= op*
//   op     := 'P' str(path) str(value) u32 count (u8 letter, u32 domid)*count str(children)
//           | 'D' str(path)                   str := u32 length, bytes
// A 'P' op sets a node (value, permissions, children list), a 'D' op removes one.
//
// After every request that changed the tree, before its reply can leave, one record with
// the new state of every node it changed is appended with one write(2): once a client
// has its reply, the change is in the file, and a kill -9 cannot lose it. If the append
// fails (ENOSPC, EDQUOT, EIO...), the file is cut back to its last complete record and
// the request is undone and refused (core.h): the file never holds a partial record
// before a complete one, and memory never holds what the file does not. fsync policy:
// by default records are not fsync'd (durable against process death, not against power
// loss); --persist-fsync adds an fdatasync per record. When the
// records outgrow max(1 MiB, 2 x the last snapshot), the whole tree is written as a
// fresh file (temporary file, fsync, rename over FILE, fsync of the directory): an
// atomic replace, so FILE is always either the old or the new complete state (a
// snapshot that cannot be written, e.g. on a full disk, leaves the old file in use).
//
// Loading refuses (persist_error, one line) a file with a bad magic, a checksum-failing
// record, a malformed op, or a tree that does not hold together: nothing is ever
// half-loaded. One exception, when opening the journal: an incomplete *last* record (the
// file ends inside its header or payload: a write cut short by kill -9 or a full disk)
// was never acknowledged, since replies wait for the write; it is dropped, logged, and
// the file rewritten without it. A record whose length field points past the end while
// its full payload is present (some prefix matches its checksum) is damage, not a cut
// write, and is refused. A missing file starts the initial tree. A lock on
// FILE.lock keeps two servers off one file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "xenstored/core.h"
#include "xenstored/log_limiter.h"
#include "xenstored/store.h"

namespace jitsu::xenstored {

class persist_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

namespace persist_format {

inline constexpr std::string_view magic = "JXSDB01\n";
inline constexpr std::size_t record_header_size = 8;

std::uint32_t crc32c(std::string_view data);

// Appends one op per path: the node's state in `s`, or its removal.
void encode_ops(const store& s, const std::vector<std::string>& paths, std::string& out);
// A record around `payload`.
void append_record(std::string_view payload, std::string& out);
// A whole file holding the tree `s`.
std::string snapshot(const store& s);
// An incomplete last record that load() dropped.
struct torn_tail {
    std::size_t offset = 0;     // where the record starts
    std::size_t announced = 0;  // its size as announced (header + payload)
    std::size_t present = 0;    // the bytes of it in the file
};
// Parses a whole file. Throws persist_error. With `dropped`, an incomplete last record is
// dropped (and described there) instead of refused.
store load(std::string_view bytes, torn_tail* dropped = nullptr);

}  // namespace persist_format

// The journal's system calls on its files, replaceable so that tests can make them fail
// at any byte (a full disk, EIO). An empty member means the real call.
struct file_ops {
    std::function<ssize_t(int fd, const void* data, std::size_t size)> write;
    std::function<int(int fd)> fdatasync;
    std::function<int(int fd, off_t size)> ftruncate;
};

class journal final : public persistence {
  public:
    struct options {
        std::string path;
        bool fsync_each = false;                  // fdatasync after every record
        std::size_t compact_min_bytes = 1 << 20;  // never compact below this
        file_ops ops = {};
    };

    // Locks, loads (or starts the initial tree if missing) and rewrites the file as a
    // fresh snapshot; if that cannot be written (a full disk), it goes on appending to
    // the file as loaded (a torn tail cut off). Throws persist_error with a one-line
    // reason.
    static std::unique_ptr<journal> open(const options& opts, store& loaded);
    ~journal();
    journal(const journal&) = delete;
    journal& operator=(const journal&) = delete;

    // Appends one record. On failure (0 is success) the file is cut back to where it
    // was, so it never holds part of a record before a later one; if even that fails,
    // every later commit tries the cut again first and fails while it cannot. Failures
    // are logged once per episode (rate-limited), with a line when writes work again.
    int commit(store& s) override;
    // Writes the whole tree as a new file, atomically replacing the old one. A failure
    // leaves the old file in place (logged, counted, retried later); true on success.
    bool compact(const store& s);

    counters stats() const override {
        return {records_, write_failures_, compactions_, compaction_failures_};
    }
    std::uint64_t records() const { return records_; }
    std::uint64_t compactions() const { return compactions_; }
    std::uint64_t write_failures() const { return write_failures_; }
    std::uint64_t compaction_failures() const { return compaction_failures_; }
    // Bytes of complete records in the file (what a restart loads).
    std::size_t file_bytes() const { return file_bytes_; }

  private:
    explicit journal(options opts) : opts_(std::move(opts)) {}
    enum class snapshot_result { ok, not_replaced, lost_file };
    snapshot_result write_snapshot(const store& s);
    bool write_all(int fd, std::string_view data);
    int append(std::string_view record);
    void cut_back();
    void failed(int err, const char* what);
    void succeeded();

    options opts_;
    int fd_ = -1;  // -1 after a compaction that could not reopen the new file
    int lock_fd_ = -1;
    std::size_t file_bytes_ = 0;
    bool cut_pending_ = false;  // bytes past file_bytes_ may be in the file
    std::size_t journal_bytes_ = 0;
    std::size_t snapshot_bytes_ = 0;
    std::uint64_t records_ = 0;
    std::uint64_t compactions_ = 0;
    std::uint64_t write_failures_ = 0;
    std::uint64_t compaction_failures_ = 0;
    // The current failure episode (from the first failed commit to the next success).
    bool failing_ = false;
    std::uint64_t episode_failures_ = 0;
    bool episode_logged_ = false;
    log_limiter failure_log_{std::chrono::seconds(10)};
    log_limiter compaction_log_{std::chrono::seconds(10)};
    std::string payload_;  // reused
    std::string record_;   // reused
};

}  // namespace jitsu::xenstored
