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

namespace jitsu::xenstored {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
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
    if (missing) {
        loaded = store{};
    } else {
        try {
            persist_format::torn_tail torn;
            loaded = persist_format::load(bytes, &torn);
            if (torn.present > 0) {
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
    if (j->write_snapshot(loaded) != snapshot_result::ok) {
        throw persist_error(fmt::format("cannot write {}: {}", opts.path, errno_text(errno)));
    }
    return j;
}

journal::~journal() {
    if (fd_ >= 0) ::close(fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

journal::snapshot_result journal::write_snapshot(const store& s) {
    const std::string file = persist_format::snapshot(s);
    const std::string tmp = opts_.path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return snapshot_result::not_replaced;
    if (!write_all(fd, file) || ::fsync(fd) != 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
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
    int nfd = ::open(opts_.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (nfd < 0) return snapshot_result::lost_file;
    if (fd_ >= 0) ::close(fd_);
    fd_ = nfd;
    snapshot_bytes_ = file.size();
    journal_bytes_ = 0;
    return snapshot_result::ok;
}

bool journal::commit(store& s) {
    auto paths = s.take_changes();
    if (paths.empty()) return true;
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    payload_.clear();
    persist_format::encode_ops(s, paths, payload_);
    record_.clear();
    persist_format::append_record(payload_, record_);
    if (!write_all(fd_, record_)) {
        spdlog::error("persist: appending to {} failed: {}", opts_.path, errno_text(errno));
        return false;
    }
    if (opts_.fsync_each && ::fdatasync(fd_) != 0) {
        spdlog::error("persist: fdatasync of {} failed: {}", opts_.path, errno_text(errno));
        return false;
    }
    ++records_;
    journal_bytes_ += record_.size();
    if (journal_bytes_ > std::max(opts_.compact_min_bytes, 2 * snapshot_bytes_)) {
        return compact(s);
    }
    return true;
}

bool journal::compact(const store& s) {
    switch (write_snapshot(s)) {
        case snapshot_result::ok:
            ++compactions_;
            return true;
        case snapshot_result::not_replaced:
            // The old file is intact and still appended to: try again later.
            spdlog::warn("persist: compacting {} failed: {}", opts_.path, errno_text(errno));
            journal_bytes_ = 0;
            return true;
        case snapshot_result::lost_file:
            break;
    }
    spdlog::error("persist: reopening {} after compaction failed: {}", opts_.path,
                  errno_text(errno));
    return false;
}

}  // namespace jitsu::xenstored
