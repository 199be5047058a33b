#pragma once
// The netns backend: every VM is a `jitsu-netvm` process (a network namespace + veth on
// the VM's bridge + the spec's cmd=, see guest/README.md).
//
//   start    spawns `jitsu-netvm --name N --bridge NIC --ip IP/PREFIX --mac MAC
//            [--gateway G] --boot-delay S --domid D [--ready-key KEY] --ready-fd 3 --
//            CMD...` (posix_spawn: own process group, default signal dispositions, empty
//            signal mask, stdin from /dev/null, stdout/stderr inherited, fd 3 the write
//            end of a pipe, nothing else). D is the lowest integer >= 1 not used by
//            another running jitsu-netvm. The pipe's read end is the progress descriptor
//            (take_progress_fd): jitsu-netvm writes started / ready / failed: WHY, and its
//            EOF tells that jitsu-netvm has exited (ended() reaps it and says how).
//   status   running while a jitsu-netvm with `--name N` runs (found by scanning /proc and
//            checking its command line, so a VM started by an earlier jitsu-dns is adopted
//            with the domid on its command line); suspended after stop(suspend), or when
//            an adopted VM's CMD is stopped. Our own exited children are reaped.
//   stop     destroy/shutdown: SIGTERM (jitsu-netvm removes CMD, veth and namespace), wait
//            up to backend_options::stop_grace, then SIGKILL and remove a leftover
//            /run/netns/N as `ip netns del` does. suspend: SIGUSR1. resume: SIGUSR2.
//
// WHERE TO RUN jitsu-dns: jitsu-netvm must run in the initial MOUNT namespace (it
// bind-mounts /run/netns/N, which a private mount namespace would hide), so when the
// bridge lives in another network namespace start jitsu-dns with
//     nsenter --net=/run/netns/<host> -- jitsu-dns ...
// (or keep jitsu-dns where it is and set backend_options::bridge_netns), NOT with
// `ip netns exec <host>`, which gives it a private mount namespace.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "jitsu_dns/backends.h"

namespace jitsu::dns {

// jitsu-netvm accepts names of at most this many characters (its veth is named from it).
constexpr std::size_t netvm_max_name_length = 32;

// The argument vector for one VM (argv[0] = `netvm`; `--ready-fd N` when `ready_fd` is
// set). Throws backend_error naming the VM when the spec lacks what the netns backend
// needs (nic=, cmd=) or has a name jitsu-netvm refuses.
std::vector<std::string> netvm_argv(const vm_spec& vm, std::uint32_t domid,
                                    const std::string& netvm, const backend_options& options,
                                    std::optional<int> ready_fd = std::nullopt);

// The lowest domid >= 1 not in `used`.
std::uint32_t lowest_free_domid(const std::set<std::uint32_t>& used);

// What a running jitsu-netvm's command line says about it.
struct netvm_cmdline {
    std::string name;
    std::optional<std::uint32_t> domid;
};

// Parses /proc/<pid>/cmdline (NUL-separated): a jitsu-netvm run directly (argv[0]'s base
// name is `program`) or through an interpreter (argv[1]'s is), with `--name N` or
// `--name=N` before any `--`. nullopt for anything else.
std::optional<netvm_cmdline> parse_netvm_cmdline(std::string_view cmdline,
                                                 std::string_view program);

// Removes a named network namespace as `ip netns del` does: lazy unmount of
// `<dir>/<name>`, then unlink. Missing is fine; other failures throw backend_error.
void remove_named_netns(const std::string& dir, const std::string& name);

}  // namespace jitsu::dns
