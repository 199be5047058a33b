#include "guest/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "common/syn_queue.h"

namespace jitsu::guest {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

std::string path_of(const std::string& name) { return std::string(netns_run_dir) + "/" + name; }

// Names become a path component: refuse anything that could escape /run/netns.
void check_name(const std::string& name) {
    if (name.empty() || name.size() > 64 || name == "." || name == ".." ||
        name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
        throw std::system_error(EINVAL, std::generic_category(),
                                "invalid namespace name '" + name + "'");
    }
}

// /run/netns must be a shared mount so namespaces mounted under it propagate to every
// peer mount namespace (what `ip netns add` does).
void prepare_run_dir() {
    if (::mkdir(netns_run_dir, 0755) != 0 && errno != EEXIST) {
        throw_errno(errno, std::string("mkdir ") + netns_run_dir);
    }
    bool bound = false;
    while (::mount("", netns_run_dir, "none", MS_SHARED | MS_REC, nullptr) != 0) {
        if (errno != EINVAL || bound)
            throw_errno(errno, std::string("mount --make-shared ") + netns_run_dir);
        // Not a mount point yet: bind it onto itself, then retry.
        if (::mount(netns_run_dir, netns_run_dir, "none", MS_BIND | MS_REC, nullptr) != 0) {
            throw_errno(errno, std::string("mount --bind ") + netns_run_dir);
        }
        bound = true;
    }
}

ino_t inode_of(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

}  // namespace

named_netns::named_netns(std::string name, int fd, bool owned)
    : name_(std::move(name)), fd_(fd), inode_(inode_of(fd)), owned_(owned) {}

named_netns::named_netns(named_netns&& other) noexcept
    : name_(std::move(other.name_)),
      fd_(std::exchange(other.fd_, -1)),
      inode_(other.inode_),
      owned_(std::exchange(other.owned_, false)) {}

named_netns& named_netns::operator=(named_netns&& other) noexcept {
    if (this != &other) {
        remove();
        if (fd_ >= 0) ::close(fd_);
        name_ = std::move(other.name_);
        fd_ = std::exchange(other.fd_, -1);
        inode_ = other.inode_;
        owned_ = std::exchange(other.owned_, false);
    }
    return *this;
}

named_netns::~named_netns() {
    remove();
    if (fd_ >= 0) ::close(fd_);
}

named_netns named_netns::create(const std::string& name, const std::function<void()>& inside) {
    check_name(name);
    prepare_run_dir();
    const std::string path = path_of(name);
    const int placeholder = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (placeholder < 0) {
        if (errno == EEXIST) throw_errno(EEXIST, "network namespace '" + name + "' already exists");
        throw_errno(errno, "create " + path);
    }
    ::close(placeholder);

    int err = 0;
    std::string step;
    std::exception_ptr failure;
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            err = errno;
            step = "unshare(CLONE_NEWNET)";
        } else if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) !=
                   0) {
            err = errno;
            step = "bind-mount the namespace on " + path;
        } else if (inside) {
            try {
                inside();
            } catch (...) {
                failure = std::current_exception();
            }
        }
    }).join();
    if (err != 0 || failure) {
        ::umount2(path.c_str(), MNT_DETACH);
        ::unlink(path.c_str());
        if (failure) std::rethrow_exception(failure);
        throw_errno(err, step);
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        ::umount2(path.c_str(), MNT_DETACH);
        ::unlink(path.c_str());
        throw_errno(e, "open " + path);
    }
    return named_netns(name, fd, true);
}

named_netns named_netns::open(const std::string& name) {
    check_name(name);
    const std::string path = path_of(name);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno(errno, "network namespace '" + name + "' (" + path + ")");
    return named_netns(name, fd, false);
}

named_netns named_netns::current() {
    const int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno(errno, "open /proc/thread-self/ns/net");
    return named_netns("", fd, false);
}

bool named_netns::remove_if_stale(const std::string& name) {
    check_name(name);
    const std::string path = path_of(name);
    struct stat ns {};
    if (::stat(path.c_str(), &ns) != 0) return false;  // no such namespace
    // Any process in it? Its /proc/PID/ns/net is the same nsfs inode. Bounded by the
    // number of processes; a process that exits meanwhile simply fails its stat.
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return false;
    bool in_use = false;
    while (const dirent* e = ::readdir(proc)) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        struct stat st {};
        const std::string link = std::string("/proc/") + e->d_name + "/ns/net";
        if (::stat(link.c_str(), &st) == 0 && st.st_dev == ns.st_dev && st.st_ino == ns.st_ino) {
            in_use = true;
            break;
        }
    }
    ::closedir(proc);
    if (in_use) return false;
    // Not mounted (a bare file left half-way) is fine too: EINVAL.
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) return false;
    return ::unlink(path.c_str()) == 0;
}

bool named_netns::remove() noexcept {
    if (!owned_) return true;
    owned_ = false;
    const std::string path = path_of(name_);
    bool ok = true;
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) ok = false;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) ok = false;
    return ok;
}

void in_netns(int netns_fd, const std::function<void()>& fn) {
    int err = 0;
    std::exception_ptr failure;
    std::thread([&] {
        if (::setns(netns_fd, CLONE_NEWNET) != 0) {
            err = errno;
            return;
        }
        try {
            fn();
        } catch (...) {
            failure = std::current_exception();
        }
    }).join();
    if (err != 0) throw_errno(err, "setns(CLONE_NEWNET)");
    if (failure) std::rethrow_exception(failure);
}

std::vector<pid_t> netns_pids(ino_t inode) {
    std::vector<pid_t> pids;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return pids;
    while (const dirent* e = ::readdir(proc)) {
        const auto pid = parse_decimal(e->d_name, 0x7fffffff);
        if (!pid || *pid == 0) continue;
        const std::string ns = "/proc/" + std::string(e->d_name) + "/ns/net";
        struct stat st {};
        if (::stat(ns.c_str(), &st) == 0 && st.st_ino == inode) {
            pids.push_back(static_cast<pid_t>(*pid));
        }
    }
    ::closedir(proc);
    return pids;
}

}  // namespace jitsu::guest
