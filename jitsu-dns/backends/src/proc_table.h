#pragma once
// Reading processes from /proc: which jitsu-netvm processes run, whether one is gone,
// whether its CMD is stopped. Every read is bounded.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "jitsu_dns/netns_backend.h"

namespace jitsu::dns::detail {

struct netvm_process {
    pid_t pid;
    netvm_cmdline cmdline;
};

// /proc/<pid>/cmdline (at most 64 KiB); nullopt if the process is gone.
std::optional<std::string> read_cmdline(pid_t pid);
// Every running (not zombie) jitsu-netvm whose program base name is `program`.
std::vector<netvm_process> find_netvm_processes(const std::string& program);
// The jitsu-netvm `pid` still runs as the VM `name` (not gone, not a zombie, not reused;
// a process in the middle of exiting still counts).
bool is_netvm(pid_t pid, const std::string& program, const std::string& name);
// Some child of `pid` is stopped (state T): a suspended VM's CMD.
bool has_stopped_child(pid_t pid);

}  // namespace jitsu::dns::detail
