#pragma once
// Starting a long-lived helper process (jitsu-netvm) from a daemon.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace jitsu::dns::detail {

// posix_spawn (vfork + exec in glibc) of argv[0] (searched in PATH if it has no '/'):
// in its own process group, default dispositions for every signal, an empty signal mask,
// stdin from /dev/null, stdout/stderr inherited, `pass_fd` (if >= 0) as descriptor 3,
// every other descriptor closed, our environment with `set_env` added or replaced.
// Returns the pid; throws std::system_error (the exec failure, e.g. ENOENT) otherwise.
pid_t spawn_process(const std::vector<std::string>& argv,
                    const std::vector<std::pair<std::string, std::string>>& set_env,
                    int pass_fd = -1);

}  // namespace jitsu::dns::detail
