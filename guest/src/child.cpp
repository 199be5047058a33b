#include "guest/child.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

namespace jitsu::guest {

namespace {

// What the child reports through the exec pipe when a step fails before exec.
struct child_failure {
    int step = 0;  // index into step_names
    int err = 0;
};
constexpr const char* step_names[] = {"setns", "exec"};

[[noreturn]] void child_fail(int fd, int step) {
    const child_failure f{step, errno};
    [[maybe_unused]] const auto n = ::write(fd, &f, sizeof(f));
    ::_exit(127);
}

}  // namespace

child_process child_process::spawn(const std::vector<std::string>& argv, int netns_fd) {
    if (argv.empty()) throw std::system_error(EINVAL, std::generic_category(), "empty command");
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe");
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        throw std::system_error(e, std::generic_category(), "fork");
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls from here to exec.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD}) {
            ::signal(sig, SIG_DFL);
        }
        if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) child_fail(pipe_fds[1], 0);
        // Everything else jitsu-netvm has open stays out of CMD.
        ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        ::execvp(args[0], args.data());
        child_fail(pipe_fds[1], 1);
    }
    ::close(pipe_fds[1]);
    ::setpgid(pid, pid);  // also here, so the group exists before we signal it
    child_failure failure{};
    ssize_t n;
    do {
        n = ::read(pipe_fds[0], &failure, sizeof(failure));
    } while (n < 0 && errno == EINTR);
    ::close(pipe_fds[0]);
    if (n == static_cast<ssize_t>(sizeof(failure))) {
        ::waitpid(pid, nullptr, 0);
        throw std::system_error(failure.err, std::generic_category(),
                                std::string(step_names[failure.step == 0 ? 0 : 1]) + " " + argv[0]);
    }
    return child_process(pid);
}

child_process::child_process(child_process&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}

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
        return "killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
    }
    return "status " + std::to_string(status);
}

}  // namespace jitsu::guest
