// The journal: file I/O around persist_format (locking, appending, compaction).
#include "xenstored/persist.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "xenstore/wire.h"

namespace jitsu::xenstored {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// The Xenstore error a request gets when its record cannot be written: the protocol
// knows ENOSPC (a full disk, a disk quota, a file-size limit), EROFS and ENOMEM; any
// other failure is EIO.
int xenstore_errno(int err) {
    switch (err) {
        case ENOSPC:
        case EDQUOT:
        case EFBIG:
            return ENOSPC;
        case EROFS:
        case ENOMEM:
            return err;
        default:
            return EIO;
    }
}

std::string read_file(const std::string& path, bool& missing) {
    missing = false;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            missing = true;
            return {};
        }
        throw persist_error(fmt::format("cannot open {}: {}", path, errno_text(errno)));
    }
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            throw persist_error(fmt::format("cannot read {}: {}", path, errno_text(err)));
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
}

std::string parent_dir(const std::string& path) {
    auto dir = std::filesystem::path(path).parent_path();
    return dir.empty() ? std::string(".") : dir.string();
}

}  // namespace

std::unique_ptr<journal> journal::open(const options& opts, store& loaded) {
    std::unique_ptr<journal> j(new journal(opts));
    const std::string dir = parent_dir(opts.path);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);

    const std::string lock_path = opts.path + ".lock";
    j->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->lock_fd_ < 0) {
        throw persist_error(fmt::format("cannot open {}: {}", lock_path, errno_text(errno)));
    }
    if (::flock(j->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        throw persist_error(fmt::format("{} is in use by another jitsu-xenstored", opts.path));
    }

    bool missing = false;
    const std::string bytes = read_file(opts.path, missing);
    std::size_t valid_bytes = bytes.size();
    if (missing) {
        loaded = store{};
    } else {
        try {
            persist_format::torn_tail torn;
            loaded = persist_format::load(bytes, &torn);
            if (torn.present > 0) {
                valid_bytes = torn.offset;
                spdlog::warn(
                    "{}: dropped an incomplete last record at offset {} ({} of {} bytes "
                    "present): a write cut short, never acknowledged; the file is rewritten "
                    "without it",
                    opts.path, torn.offset, torn.present, torn.announced);
            }
        } catch (const persist_error& e) {
            throw persist_error(fmt::format("refusing {}: {}", opts.path, e.what()));
        }
    }
    const snapshot_result written = j->write_snapshot(loaded);
    if (written == snapshot_result::ok) return j;
    const int err = errno;
    if (missing || written == snapshot_result::lost_file) {
        throw persist_error(fmt::format("cannot write {}: {}", opts.path, errno_text(err)));
    }
    // No room for a fresh copy (a full disk): the file as loaded is complete once its torn
    // tail, if any, is cut off; append to it.
    j->fd_ = ::open(opts.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (j->fd_ < 0 ||
        (valid_bytes < bytes.size() && ::ftruncate(j->fd_, static_cast<off_t>(valid_bytes)) != 0)) {
        throw persist_error(fmt::format("cannot rewrite {} ({}) nor cut its torn tail: {}",
                                        opts.path, errno_text(err), errno_text(errno)));
    }
    j->file_bytes_ = valid_bytes;
    j->snapshot_bytes_ = valid_bytes;
    spdlog::warn("{}: cannot rewrite it as a fresh snapshot ({}); appending to it as loaded",
                 opts.path, errno_text(err));
    return j;
}

journal::~journal() {
    if (fd_ >= 0) ::close(fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

bool journal::write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = opts_.ops.write ? opts_.ops.write(fd, data.data(), data.size())
                                          : ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (n == 0) {  // no progress and no error: treat as a full disk, never spin
            errno = ENOSPC;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

journal::snapshot_result journal::write_snapshot(const store& s) {
    const std::string file = persist_format::snapshot(s);
    const std::string tmp = opts_.path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return snapshot_result::not_replaced;
    if (!write_all(fd, file) || ::fsync(fd) != 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());  // gives the space back
        errno = err;
        return snapshot_result::not_replaced;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), opts_.path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        errno = err;
        return snapshot_result::not_replaced;
    }
    // Make the rename itself durable.
    int dfd = ::open(parent_dir(opts_.path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    // From here the old file is gone: appending anywhere but the new one loses data.
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(opts_.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    file_bytes_ = file.size();
    snapshot_bytes_ = file.size();
    journal_bytes_ = 0;
    cut_pending_ = false;
    return fd_ < 0 ? snapshot_result::lost_file : snapshot_result::ok;
}

int journal::append(std::string_view record) {
    if (fd_ < 0) {  // the last compaction could not reopen the file it wrote
        fd_ = ::open(opts_.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd_ < 0) return errno;
    }
    auto truncate = [&](off_t size) {
        return opts_.ops.ftruncate ? opts_.ops.ftruncate(fd_, size) : ::ftruncate(fd_, size);
    };
    if (cut_pending_) {
        if (truncate(static_cast<off_t>(file_bytes_)) != 0) return errno;
        cut_pending_ = false;
    }
    int err = 0;
    if (!write_all(fd_, record)) {
        err = errno;
    } else if (opts_.fsync_each &&
               (opts_.ops.fdatasync ? opts_.ops.fdatasync(fd_) : ::fdatasync(fd_)) != 0) {
        err = errno;
    }
    if (err != 0) {
        // Part of the record (or all of it, unsynced) may be in the file: cut it off so
        // that the next record follows the last complete one.
        if (truncate(static_cast<off_t>(file_bytes_)) != 0) cut_pending_ = true;
        return err;
    }
    file_bytes_ += record.size();
    return 0;
}

// One line at the start of a failure episode and one at its end; episodes that start
// within 10 s of a logged one are only counted (a disk hovering at full).
void journal::failed(int err, const char* what) {
    ++write_failures_;
    if (failing_) {
        ++episode_failures_;
        return;
    }
    failing_ = true;
    episode_failures_ = 1;
    std::uint64_t episodes = 0;
    episode_logged_ = failure_log_.due(episodes);
    if (episode_logged_) {
        spdlog::error(
            "persist: {} {} failed: {}{}; refusing changes with {} until it works again, "
            "serving reads meanwhile ({} failure episode(s) since the last such line)",
            what, opts_.path, errno_text(err), cut_pending_ ? " (and cutting it back failed)" : "",
            xenstore::error_name(xenstore_errno(err)), episodes);
    }
}

void journal::succeeded() {
    if (!failing_) return;
    failing_ = false;
    if (episode_logged_) {
        spdlog::info("persist: {} is writable again, after {} refused change(s)", opts_.path,
                     episode_failures_);
    }
}

int journal::commit(store& s) {
    auto paths = s.take_changes();
    if (paths.empty()) return 0;
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    payload_.clear();
    persist_format::encode_ops(s, paths, payload_);
    record_.clear();
    persist_format::append_record(payload_, record_);
    if (int err = append(record_); err != 0) {
        failed(err, fd_ < 0 ? "reopening" : "appending to");
        return xenstore_errno(err);
    }
    succeeded();
    ++records_;
    journal_bytes_ += record_.size();
    if (journal_bytes_ > std::max(opts_.compact_min_bytes, 2 * snapshot_bytes_)) compact(s);
    return 0;
}

bool journal::compact(const store& s) {
    const snapshot_result r = write_snapshot(s);
    if (r == snapshot_result::ok) {
        ++compactions_;
        return true;
    }
    const int err = errno;
    ++compaction_failures_;
    // not_replaced: the old file is intact and still appended to; try again after as many
    // bytes of records again. lost_file: the new file is complete (it holds every
    // change), only reopening it failed; the next commit retries that.
    if (r == snapshot_result::not_replaced) journal_bytes_ = 0;
    std::uint64_t n = 0;
    if (compaction_log_.due(n)) {
        spdlog::warn("persist: {} {} failed: {}; {} ({} such failure(s) since the last such line)",
                     r == snapshot_result::lost_file ? "reopening after compacting" : "compacting",
                     opts_.path, errno_text(err),
                     r == snapshot_result::lost_file ? "retried on the next change"
                                                     : "the old file stays in use",
                     n);
    }
    return false;
}

}  // namespace jitsu::xenstored
