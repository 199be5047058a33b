// The netns backend: VMs are jitsu-netvm processes (see netns_backend.h).
#include "jitsu_dns/netns_backend.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "factories.h"
#include "proc_table.h"
#include "spawn.h"

namespace jitsu::dns {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr const char* netns_dir = "/run/netns";

// jitsu-netvm's exit codes (guest/README.md).
const char* netvm_exit_meaning(int code) {
    switch (code) {
        case 0:
            return "stopped";
        case 1:
            return "setting up failed";
        case 2:
            return "bad command line";
        case 3:
            return "CMD could not start or did not listen in time";
        case 4:
            return "CMD exited by itself";
        case 5:
            return "Xenstore unreachable";
        default:
            return "unexpected exit code";
    }
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) {
        return fmt::format("exited with {} ({})", WEXITSTATUS(status),
                           netvm_exit_meaning(WEXITSTATUS(status)));
    }
    if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
    return "ended";
}

std::string default_netvm_path() {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto beside = self.parent_path() / "jitsu-netvm";
        if (::access(beside.c_str(), X_OK) == 0) return beside.string();
    }
    return "jitsu-netvm";  // from PATH
}

class netns_backend final : public backend {
  public:
    explicit netns_backend(const backend_options& options)
        : options_(options),
          netvm_(options.netvm_path.empty() ? default_netvm_path() : options.netvm_path.string()),
          program_(std::filesystem::path(netvm_).filename().string()) {}

    ~netns_backend() override {
        for (const auto& [name, fd] : progress_) ::close(fd);
    }
    netns_backend(const netns_backend&) = delete;
    netns_backend& operator=(const netns_backend&) = delete;

    std::string_view kind() const override { return "netns"; }

    vm_status start(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        reap_children();
        if (vm_entry* e = locate(vm)) {
            if (e->suspended) resume_entry(vm, *e);
            return {vm_power::running, e->domid, {}};
        }
        remove_leftover_netns(vm);
        std::set<std::uint32_t> used;
        for (const auto& p : detail::find_netvm_processes(program_)) {
            if (p.cmdline.domid) used.insert(*p.cmdline.domid);
        }
        for (const auto& [name, e] : vms_) {
            if (e.domid) used.insert(*e.domid);
        }
        const std::uint32_t domid = lowest_free_domid(used);
        const auto argv = netvm_argv(vm, domid, netvm_, options_, 3);
        std::vector<std::pair<std::string, std::string>> env;
        if (!options_.xenstore_path.empty())
            env.emplace_back("XENSTORED_PATH", options_.xenstore_path);
        drop_progress(vm.name);
        const progress_pipe pipe = open_progress_pipe(vm);
        pid_t pid = -1;
        try {
            pid = detail::spawn_process(argv, env, pipe.write_end);
        } catch (const std::system_error& e) {
            ::close(pipe.read_end);
            ::close(pipe.write_end);
            throw backend_error(
                fmt::format("VM {}: cannot run {}: {}", vm.name, netvm_, e.code().message()));
        }
        // Only jitsu-netvm holds the write end now: EOF on ours means it has exited.
        ::close(pipe.write_end);
        progress_[vm.name] = pipe.read_end;
        vms_[vm.name] = vm_entry{pid, domid, true, false};
        spdlog::info("VM {}: started {} (pid {}, domid {})", vm.name, program_, pid, domid);
        if (options_.start_check.count() > 0) check_early_exit(vm, pid);
        return {vm_power::running, domid, {}};
    }

    void stop(const vm_spec& vm, stop_mode mode) override {
        std::lock_guard lock(mutex_);
        reap_children();
        vm_entry* e = locate(vm);
        if (e == nullptr) {
            if (mode != stop_mode::suspend) remove_leftover_netns(vm);
            return;
        }
        if (mode == stop_mode::suspend) {
            if (e->suspended) return;
            signal(vm, *e, SIGUSR1);
            e->suspended = true;
            return;
        }
        const vm_entry entry = *e;
        signal(vm, entry, SIGTERM);
        if (!wait_gone(vm, entry, options_.stop_grace)) {
            spdlog::warn("VM {}: {} (pid {}) still runs {} ms after SIGTERM: SIGKILL", vm.name,
                         program_, entry.pid, options_.stop_grace.count());
            ::kill(entry.pid, SIGKILL);
            if (!wait_gone(vm, entry, 2s)) {
                throw backend_error(fmt::format("VM {}: {} (pid {}) survives SIGKILL", vm.name,
                                                program_, entry.pid));
            }
        }
        vms_.erase(vm.name);
        drop_progress(vm.name);
        failures_.erase(vm.name);
        remove_leftover_netns(vm);
    }

    void resume(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        reap_children();
        vm_entry* e = locate(vm);
        if (e == nullptr)
            throw backend_error(fmt::format("VM {}: not running, cannot resume it", vm.name));
        resume_entry(vm, *e);
    }

    vm_status status(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        reap_children();
        const vm_entry* e = locate(vm);
        if (e == nullptr) {
            vm_status st;
            if (auto it = failures_.find(vm.name); it != failures_.end()) {
                st.failure = std::move(it->second);
                failures_.erase(it);
            }
            return st;
        }
        return {e->suspended ? vm_power::suspended : vm_power::running, e->domid, {}};
    }

    int take_progress_fd(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        const auto it = progress_.find(vm.name);
        if (it == progress_.end()) return -1;
        const int fd = it->second;
        progress_.erase(it);
        return fd;
    }

    std::string ended(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        const auto it = vms_.find(vm.name);
        if (it == vms_.end() || !it->second.child) {
            reap_children();
            return take_failure(vm.name);
        }
        // The pipe's EOF comes as jitsu-netvm exits, a moment before it can be reaped.
        const vm_entry entry = it->second;
        int st = 0;
        const auto deadline = clock::now() + 2s;
        pid_t r = 0;
        while ((r = ::waitpid(entry.pid, &st, WNOHANG)) == 0 && clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
        }
        if (r == 0) {
            return fmt::format("{} (pid {}) closed its progress pipe but still runs", program_,
                               entry.pid);
        }
        vms_.erase(vm.name);
        remove_leftover_netns(vm);
        if (r != entry.pid) return {};
        spdlog::info("VM {}: {} (pid {}) {}", vm.name, program_, entry.pid,
                     describe_wait_status(st));
        return ended_badly(st) ? fmt::format("{} {}", program_, describe_wait_status(st))
                               : std::string();
    }

  private:
    struct vm_entry {
        pid_t pid;
        std::optional<std::uint32_t> domid;
        bool child;      // spawned by this backend (we must reap it)
        bool suspended;  // by us, or seen stopped when adopted
    };

    struct progress_pipe {
        int read_end;
        int write_end;  // never 3: spawn_process places it there
    };

    static progress_pipe open_progress_pipe(const vm_spec& vm) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
            throw backend_error(
                fmt::format("VM {}: cannot create a pipe: {}", vm.name, std::strerror(errno)));
        }
        // The write end blocks like any inherited descriptor (jitsu-netvm writes whole lines).
        ::fcntl(fds[1], F_SETFL, 0);
        if (fds[1] == 3) {
            const int moved = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 4);
            ::close(fds[1]);
            if (moved < 0) {
                ::close(fds[0]);
                throw backend_error(fmt::format("VM {}: cannot move a pipe end: {}", vm.name,
                                                std::strerror(errno)));
            }
            fds[1] = moved;
        }
        return {fds[0], fds[1]};
    }

    // A progress descriptor nobody took (the VM stopped or started again first).
    void drop_progress(const std::string& name) {
        if (auto it = progress_.find(name); it != progress_.end()) {
            ::close(it->second);
            progress_.erase(it);
        }
    }

    std::string take_failure(const std::string& name) {
        auto it = failures_.find(name);
        if (it == failures_.end()) return {};
        std::string out = std::move(it->second);
        failures_.erase(it);
        return out;
    }

    // Not a clean stop: a failure exit code, or a signal we did not send ourselves (a
    // stop() reaps its own SIGTERM/SIGKILL in wait_gone, never here).
    static bool ended_badly(int status) { return !(WIFEXITED(status) && WEXITSTATUS(status) == 0); }

    // Our exited children: reaped (no zombies) and forgotten.
    void reap_children() {
        std::erase_if(exiting_, [](pid_t pid) {
            const pid_t r = ::waitpid(pid, nullptr, WNOHANG);
            return r == pid || (r < 0 && errno == ECHILD);
        });
        for (auto it = vms_.begin(); it != vms_.end();) {
            int st = 0;
            const pid_t r = it->second.child ? ::waitpid(it->second.pid, &st, WNOHANG) : 0;
            if (r == it->second.pid || (r < 0 && errno == ECHILD)) {
                if (r == it->second.pid) {
                    spdlog::info("VM {}: {} (pid {}) {}", it->first, program_, it->second.pid,
                                 describe_wait_status(st));
                    // Told once, by the next status() of this VM.
                    if (ended_badly(st)) {
                        failures_[it->first] =
                            fmt::format("{} {}", program_, describe_wait_status(st));
                    }
                }
                it = vms_.erase(it);
            } else {
                ++it;
            }
        }
    }

    // The running jitsu-netvm of `vm`: ours, or one found in /proc (then adopted).
    vm_entry* locate(const vm_spec& vm) {
        if (auto it = vms_.find(vm.name); it != vms_.end()) {
            if (detail::is_netvm(it->second.pid, program_, vm.name)) return &it->second;
            // Not reapable yet: reaped by a later call, so no zombie stays behind.
            if (it->second.child && ::waitpid(it->second.pid, nullptr, WNOHANG) == 0) {
                exiting_.push_back(it->second.pid);
            }
            vms_.erase(it);
        }
        for (const auto& p : detail::find_netvm_processes(program_)) {
            if (p.cmdline.name != vm.name) continue;
            vm_entry e{p.pid, p.cmdline.domid, false, detail::has_stopped_child(p.pid)};
            spdlog::info("VM {}: adopted running {} (pid {}, domid {}{})", vm.name, program_, p.pid,
                         e.domid ? std::to_string(*e.domid) : std::string{"unknown"},
                         e.suspended ? ", suspended" : "");
            return &(vms_[vm.name] = e);
        }
        return nullptr;
    }

    void signal(const vm_spec& vm, const vm_entry& e, int sig) {
        if (::kill(e.pid, sig) != 0 && errno != ESRCH) {
            throw backend_error(fmt::format("VM {}: cannot signal {} (pid {}): {}", vm.name,
                                            program_, e.pid, std::strerror(errno)));
        }
    }

    void resume_entry(const vm_spec& vm, vm_entry& e) {
        signal(vm, e, SIGUSR2);
        e.suspended = false;
    }

    // Polls until the process is gone (reaped if ours) or `timeout` passes.
    bool wait_gone(const vm_spec& vm, const vm_entry& e, std::chrono::milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        for (;;) {
            if (e.child) {
                int st = 0;
                const pid_t r = ::waitpid(e.pid, &st, WNOHANG);
                if (r == e.pid) {
                    spdlog::info("VM {}: {} (pid {}) {}", vm.name, program_, e.pid,
                                 describe_wait_status(st));
                    return true;
                }
                if (r < 0 && errno == ECHILD) return true;
            } else if (!detail::is_netvm(e.pid, program_, vm.name)) {
                return true;
            }
            if (clock::now() >= deadline) return false;
            std::this_thread::sleep_for(2ms);
        }
    }

    void check_early_exit(const vm_spec& vm, pid_t pid) {
        const auto deadline = clock::now() + options_.start_check;
        while (clock::now() < deadline) {
            int st = 0;
            if (::waitpid(pid, &st, WNOHANG) == pid) {
                vms_.erase(vm.name);
                remove_leftover_netns(vm);
                throw backend_error(
                    fmt::format("VM {}: {} {}", vm.name, program_, describe_wait_status(st)));
            }
            std::this_thread::sleep_for(1ms);
        }
    }

    void remove_leftover_netns(const vm_spec& vm) {
        std::error_code ec;
        if (!std::filesystem::exists(std::filesystem::path(netns_dir) / vm.name, ec)) return;
        spdlog::warn("VM {}: removing leftover network namespace {}/{}", vm.name, netns_dir,
                     vm.name);
        remove_named_netns(netns_dir, vm.name);
    }

    backend_options options_;
    std::string netvm_;    // the program we run
    std::string program_;  // its base name, to recognise it in /proc
    std::map<std::string, vm_entry> vms_;
    std::vector<pid_t> exiting_;           // our children that left vms_ before we could reap them
    std::map<std::string, int> progress_;  // read ends not yet taken by the booter
    std::map<std::string, std::string> failures_;  // how a VM's jitsu-netvm failed, until told
    std::mutex mutex_;
};

}  // namespace

void remove_named_netns(const std::string& dir, const std::string& name) {
    const std::string path = dir + "/" + name;
    // EINVAL: not a mount point (a plain leftover file); ENOENT: already gone.
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
        throw backend_error(
            fmt::format("VM {}: cannot unmount {}: {}", name, path, std::strerror(errno)));
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        throw backend_error(
            fmt::format("VM {}: cannot remove {}: {}", name, path, std::strerror(errno)));
    }
}

namespace detail {

std::unique_ptr<backend> make_netns_backend(const backend_options& options) {
    return std::make_unique<netns_backend>(options);
}

}  // namespace detail
}  // namespace jitsu::dns
