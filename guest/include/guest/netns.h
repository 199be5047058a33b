#pragma once
// Named network namespaces, as iproute2 keeps them: a bind mount of the namespace's
// nsfs inode on /run/netns/<name>, so `ip netns` lists it and `ip netns exec` enters it.
//
// Creating one never moves the calling thread: the new namespace is made by a short
// helper thread (unshare(CLONE_NEWNET) is per thread), which bind-mounts
// /proc/thread-self/ns/net and exits. Work that needs a socket inside some namespace
// uses in_netns(), which runs a function on such a thread: sockets keep the namespace
// they were created in.
//
// Mount propagation caveat: the bind mount is made in the caller's mount namespace.
// `ip netns exec X cmd` runs cmd in a private (slave) mount namespace, so a namespace a
// process creates from in there is invisible to `ip netns` outside. Run jitsu-netvm in
// the initial mount namespace and name the bridge's namespace instead
// (--netns-of-bridge).

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace jitsu::guest {

inline constexpr const char* netns_run_dir = "/run/netns";

class named_netns {
  public:
    // Creates /run/netns/<name> with a fresh namespace (loopback down, as the kernel
    // makes it). Throws std::system_error naming the step; EEXIST if the name is taken.
    // The returned object owns it: remove() or the destructor deletes it. `inside`, if
    // given, runs on the creating thread while it is in the new namespace (open the
    // sockets you need there without another thread); its exceptions are rethrown
    // after the namespace was removed again.
    static named_netns create(const std::string& name, const std::function<void()>& inside = {});
    // An existing namespace (not owned: never removed by this object).
    static named_netns open(const std::string& name);
    // A namespace /run/netns/NAME that no process is in (left by a killed jitsu-netvm:
    // kill -9 runs no clean-up) is unmounted and removed; true if one was. One that a
    // process is in is left alone (create then fails with EEXIST).
    static bool remove_if_stale(const std::string& name);
    // The caller's own namespace (not owned).
    static named_netns current();

    named_netns(named_netns&& other) noexcept;
    named_netns& operator=(named_netns&& other) noexcept;
    named_netns(const named_netns&) = delete;
    named_netns& operator=(const named_netns&) = delete;
    ~named_netns();

    // An O_CLOEXEC fd of the namespace (for setns, IFLA_NET_NS_FD).
    int fd() const { return fd_; }
    const std::string& name() const { return name_; }
    // The nsfs inode: processes whose /proc/<pid>/ns/net has it are inside.
    ino_t inode() const { return inode_; }
    bool owned() const { return owned_; }

    // Unmounts and unlinks /run/netns/<name> if owned (the namespace itself dies with
    // its last process and interface). Idempotent, never throws; false if a step failed.
    bool remove() noexcept;

  private:
    named_netns(std::string name, int fd, bool owned);

    std::string name_;
    int fd_ = -1;
    ino_t inode_ = 0;
    bool owned_ = false;
};

// Runs `fn` on a helper thread that has entered the namespace `netns_fd` and returns
// when it has finished. Exceptions from `fn` are rethrown here. Throws
// std::system_error if the thread cannot enter the namespace.
void in_netns(int netns_fd, const std::function<void()>& fn);

// Processes with a thread in the namespace of `inode` (like `ip netns pids`).
std::vector<pid_t> netns_pids(ino_t inode);

}  // namespace jitsu::guest
