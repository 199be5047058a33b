#include "guest/child.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace jitsu::guest {

namespace {

// Shared between the parent and the vfork-style child (CLONE_VM): the child writes
// `err`/`step` only if a step fails, before it _exits.
struct spawn_args {
    const char* path = nullptr;
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    int netns_fd = -1;
    pid_t parent = 0;
    int err = 0;
    const char* step = nullptr;
};

// The child: only raw system calls (it shares the parent's memory until exec).
int child_main(void* arg) {
    auto* a = static_cast<spawn_args*>(arg);
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != a->parent) ::_exit(127);
    // Handlers are a copy here (no CLONE_SIGHAND): put back what CMD should start with.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) {
        ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (a->netns_fd >= 0 && ::setns(a->netns_fd, CLONE_NEWNET) != 0) {
        a->err = errno;
        a->step = "setns";
        ::_exit(127);
    }
    // Everything else jitsu-netvm has open stays out of CMD.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(a->path, a->argv, a->envp);
    a->err = errno;
    a->step = "exec";
    ::_exit(127);
}

}  // namespace

// argv[0] as execvp would find it (resolved before the fork: the child must not allocate).
std::string resolve_command(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    const char* path_env = ::getenv("PATH");
    std::string_view dirs = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        const auto colon = dirs.find(':');
        std::string candidate(colon == 0 ? std::string_view(".") : dirs.substr(0, colon));
        candidate.push_back('/');
        candidate.append(name);
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) break;
        dirs.remove_prefix(colon + 1);
    }
    return name;  // execve fails with ENOENT, reported as such
}

child_process child_process::spawn(const std::vector<std::string>& argv, int netns_fd) {
    if (argv.empty()) throw std::system_error(EINVAL, std::generic_category(), "empty command");
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string path = resolve_command(argv.front());

    spawn_args shared;
    shared.path = path.c_str();
    shared.argv = args.data();
    shared.envp = environ;
    shared.netns_fd = netns_fd;
    shared.parent = ::getpid();
    // vfork semantics: no page tables copied, and the parent sleeps until the child has
    // exec'd or failed (so `shared` tells which).
    constexpr std::size_t stack_size = 64 * 1024;
    std::vector<unsigned char> stack(stack_size);
    const pid_t pid =
        ::clone(child_main, stack.data() + stack.size(), CLONE_VM | CLONE_VFORK | SIGCHLD, &shared);
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "clone");
    ::setpgid(pid, pid);  // also here, so the group exists before we signal it
    if (shared.step != nullptr) {
        ::waitpid(pid, nullptr, 0);
        throw std::system_error(shared.err, std::generic_category(),
                                std::string(shared.step) + " " + argv.front());
    }
    return child_process(pid);
}

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)) {}

child_process& child_process::operator=(child_process&& other) noexcept {
    if (this != &other) {
        if (running()) stop(std::chrono::milliseconds(0));
        pid_ = std::exchange(other.pid_, -1);
    }
    return *this;
}

child_process::~child_process() {
    if (running()) stop(std::chrono::milliseconds(0));
}

std::optional<int> child_process::poll() {
    if (pid_ <= 0) return std::nullopt;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        pid_ = -1;
        return status;
    }
    if (r < 0 && errno == ECHILD) {
        pid_ = -1;
        return 0;
    }
    return std::nullopt;
}

bool child_process::signal_group(int sig) const {
    if (pid_ <= 0) return false;
    if (::kill(-pid_, sig) == 0) return true;
    // The group may be gone while the leader is a zombie; try the leader itself.
    return ::kill(pid_, sig) == 0;
}

int child_process::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return 0;
    const pid_t group = pid_;
    if (grace.count() > 0) {
        ::kill(-group, SIGTERM);
        ::kill(-group, SIGCONT);
        const auto deadline = std::chrono::steady_clock::now() + grace;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto status = poll()) {
                ::kill(-group, SIGKILL);  // stragglers of the group
                return *status;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    ::kill(-group, SIGKILL);
    ::kill(group, SIGKILL);
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(group, &status, 0);
    } while (r < 0 && errno == EINTR);
    pid_ = -1;
    return status;
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* name = ::strsignal(sig);
        return "killed by signal " + std::to_string(sig) +
               (name ? std::string(" (") + name + ")" : "");
    }
    return "status " + std::to_string(status);
}

}  // namespace jitsu::guest
