#include "spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <cstring>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace jitsu::dns::detail {
namespace {

// RAII for the two posix_spawn attribute objects.
struct spawn_setup {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    spawn_setup() {
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_init(&actions);
    }
    spawn_setup(const spawn_setup&) = delete;
    spawn_setup& operator=(const spawn_setup&) = delete;
    ~spawn_setup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
};

void check(int rc, const char* what) {
    if (rc != 0) throw std::system_error(rc, std::generic_category(), what);
}

}  // namespace

pid_t spawn_process(const std::vector<std::string>& argv,
                    const std::vector<std::pair<std::string, std::string>>& set_env, int pass_fd) {
    if (argv.empty()) throw std::invalid_argument("spawn_process: empty argv");
    spawn_setup s;
    // The VM outlives a Ctrl-C to jitsu-dns's terminal and is signalled on its own.
    short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    check(posix_spawnattr_setflags(&s.attr, flags), "posix_spawnattr_setflags");
    check(posix_spawnattr_setpgroup(&s.attr, 0), "posix_spawnattr_setpgroup");
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    check(posix_spawnattr_setsigmask(&s.attr, &none), "posix_spawnattr_setsigmask");
    check(posix_spawnattr_setsigdefault(&s.attr, &all), "posix_spawnattr_setsigdefault");
    check(posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0), "addopen");
    if (pass_fd == 3) throw std::invalid_argument("spawn_process: pass_fd must not be 3");
    if (pass_fd >= 0) check(posix_spawn_file_actions_adddup2(&s.actions, pass_fd, 3), "adddup2");
    check(posix_spawn_file_actions_addclosefrom_np(&s.actions, pass_fd >= 0 ? 4 : 3),
          "addclosefrom");

    std::vector<std::string> env_storage;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        bool replaced = false;
        for (const auto& [k, v] : set_env) replaced = replaced || (entry.rfind(k + "=", 0) == 0);
        if (!replaced) env_storage.emplace_back(entry);
    }
    for (const auto& [k, v] : set_env) env_storage.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_storage = argv;
    std::vector<char*> args;
    for (auto& a : argv_storage) args.push_back(a.data());
    args.push_back(nullptr);

    pid_t pid = -1;
    const bool search = argv[0].find('/') == std::string::npos;
    const int rc = search
                       ? posix_spawnp(&pid, args[0], &s.actions, &s.attr, args.data(), envp.data())
                       : posix_spawn(&pid, args[0], &s.actions, &s.attr, args.data(), envp.data());
    check(rc, argv[0].c_str());
    return pid;
}

}  // namespace jitsu::dns::detail
