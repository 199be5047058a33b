#pragma once
// CMD as jitsu-netvm runs it: forked, moved into the VM's network namespace, leader of
// its own process group (so stop/suspend reach everything it starts), and killed if
// jitsu-netvm itself dies (PR_SET_PDEATHSIG).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace jitsu::guest {

class child_process {
  public:
    // Forks and execs argv (PATH lookup) inside the namespace `netns_fd` (< 0: stay).
    // Returns once the exec has happened; throws std::system_error naming the failing
    // step ("exec foo: No such file or directory") otherwise.
    static child_process spawn(const std::vector<std::string>& argv, int netns_fd);

    child_process(child_process&& other) noexcept;
    child_process& operator=(child_process&& other) noexcept;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    // Kills the group (SIGKILL) and reaps if still running.
    ~child_process();

    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }
    // Reaps without blocking: the wait status if the child has exited (then
    // running() is false), else nullopt.
    std::optional<int> poll();
    // Sends `sig` to the whole process group; false if there is no such group.
    bool signal_group(int sig) const;
    // SIGTERM (and SIGCONT, in case it is stopped) to the group, waits up to `grace`
    // for the child to exit, then SIGKILLs the group. Returns the wait status.
    int stop(std::chrono::milliseconds grace);

  private:
    explicit child_process(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;
};

// `name` as execvp finds it: itself if it has a '/', else the first executable PATH entry
// (`name` unchanged if none is).
std::string resolve_command(const std::string& name);

// "exited with status 3", "killed by signal 15 (Terminated)".
std::string describe_wait_status(int status);

}  // namespace jitsu::guest
