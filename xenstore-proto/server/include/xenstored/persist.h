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
// After every batch of requests, before any reply of the batch is written, one record
// with the new state of every node the batch changed is appended with one write(2):
// once a client has its reply, the change is in the file, and a kill -9 cannot lose
// it. fsync policy: by default records are not fsync'd (durable against process death,
// not against power loss); --persist-fsync adds an fdatasync per record. When the
// records outgrow max(1 MiB, 2 x the last snapshot), the whole tree is written as a
// fresh file (temporary file, fsync, rename over FILE, fsync of the directory): an
// atomic replace, so FILE is always either the old or the new complete state.
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

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "xenstored/core.h"
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

class journal final : public persistence {
  public:
    struct options {
        std::string path;
        bool fsync_each = false;                  // fdatasync after every record
        std::size_t compact_min_bytes = 1 << 20;  // never compact below this
    };

    // Locks, loads (or starts the initial tree if missing) and rewrites the file as a
    // fresh snapshot. Throws persist_error with a one-line reason.
    static std::unique_ptr<journal> open(const options& opts, store& loaded);
    ~journal();
    journal(const journal&) = delete;
    journal& operator=(const journal&) = delete;

    bool commit(store& s) override;
    // Writes the whole tree as a new file, atomically replacing the old one. A failure
    // that leaves the old file in place is logged and retried later (true); false
    // only if the file can no longer be appended to.
    bool compact(const store& s);

    std::uint64_t records() const { return records_; }
    std::uint64_t compactions() const { return compactions_; }

  private:
    explicit journal(options opts) : opts_(std::move(opts)) {}
    enum class snapshot_result { ok, not_replaced, lost_file };
    snapshot_result write_snapshot(const store& s);

    options opts_;
    int fd_ = -1;
    int lock_fd_ = -1;
    std::size_t journal_bytes_ = 0;
    std::size_t snapshot_bytes_ = 0;
    std::uint64_t records_ = 0;
    std::uint64_t compactions_ = 0;
    std::string payload_;  // reused
    std::string record_;   // reused
};

}  // namespace jitsu::xenstored
