#include "proc_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace jitsu::dns::detail {
namespace {

// Small /proc files only: reads at most `max` bytes.
std::optional<std::string> read_proc_file(const std::string& path, std::size_t max) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out(max, '\0');
    std::size_t got = 0;
    while (got < max) {
        const ssize_t n = ::read(fd, out.data() + got, max - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    out.resize(got);
    return out;
}

struct proc_stat {
    char state;
    pid_t ppid;
};

// "pid (comm) S ppid ...": comm may hold spaces and ')', so parse from the last ')'.
std::optional<proc_stat> read_stat(pid_t pid) {
    const auto text = read_proc_file("/proc/" + std::to_string(pid) + "/stat", 1024);
    if (!text) return std::nullopt;
    const auto close = text->rfind(')');
    if (close == std::string::npos || close + 4 >= text->size()) return std::nullopt;
    proc_stat st{(*text)[close + 2], 0};
    const std::string rest = text->substr(close + 4);
    st.ppid = static_cast<pid_t>(std::strtol(rest.c_str(), nullptr, 10));
    return st;
}

template <typename F>
void for_each_pid(F f) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), ::closedir);
    if (!dir) return;
    while (const dirent* e = ::readdir(dir.get())) {
        char* end = nullptr;
        const long pid = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || pid <= 0) continue;
        f(static_cast<pid_t>(pid));
    }
}

bool running(pid_t pid) {
    const auto st = read_stat(pid);
    return st && st->state != 'Z' && st->state != 'X';
}

}  // namespace

std::optional<std::string> read_cmdline(pid_t pid) {
    return read_proc_file("/proc/" + std::to_string(pid) + "/cmdline", 64 * 1024);
}

std::vector<netvm_process> find_netvm_processes(const std::string& program) {
    std::vector<netvm_process> found;
    std::vector<pid_t> parents;
    for_each_pid([&](pid_t pid) {
        const auto cmdline = read_cmdline(pid);
        if (!cmdline) return;
        auto parsed = parse_netvm_cmdline(*cmdline, program);
        const auto st = parsed ? read_stat(pid) : std::nullopt;
        if (!st || st->state == 'Z' || st->state == 'X') return;
        found.push_back({pid, std::move(*parsed)});
        parents.push_back(st->ppid);
    });
    // A jitsu-netvm's child between fork and exec (CMD being started) still shows its
    // parent's command line: it is not a second VM.
    std::vector<netvm_process> out;
    for (std::size_t i = 0; i < found.size(); ++i) {
        const bool child_of_same_vm =
            std::any_of(found.begin(), found.end(), [&](const netvm_process& p) {
                return p.pid == parents[i] && p.cmdline.name == found[i].cmdline.name;
            });
        if (!child_of_same_vm) out.push_back(std::move(found[i]));
    }
    return out;
}

bool is_netvm(pid_t pid, const std::string& program, const std::string& name) {
    const auto cmdline = read_cmdline(pid);
    if (!cmdline || !running(pid)) return false;
    // An exiting process has released its memory (empty cmdline) before it turns into a
    // zombie: it is still ours until then, so callers keep waiting instead of giving up
    // on a process that is not reapable yet.
    if (cmdline->empty()) return true;
    const auto parsed = parse_netvm_cmdline(*cmdline, program);
    return parsed && parsed->name == name;
}

bool has_stopped_child(pid_t pid) {
    bool stopped = false;
    for_each_pid([&](pid_t p) {
        if (stopped) return;
        const auto st = read_stat(p);
        stopped = st && st->ppid == pid && st->state == 'T';
    });
    return stopped;
}

}  // namespace jitsu::dns::detail
