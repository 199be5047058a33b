// The netns backend: VMs are jitsu-netvm processes (see netns_backend.h).
#include "jitsu_dns/netns_backend.h"

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

    std::string_view kind() const override { return "netns"; }

    vm_status start(const vm_spec& vm) override {
        std::lock_guard lock(mutex_);
        reap_children();
        if (vm_entry* e = locate(vm)) {
            if (e->suspended) resume_entry(vm, *e);
            return {vm_power::running, e->domid};
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
        const auto argv = netvm_argv(vm, domid, netvm_, options_);
        std::vector<std::pair<std::string, std::string>> env;
        if (!options_.xenstore_path.empty())
            env.emplace_back("XENSTORED_PATH", options_.xenstore_path);
        pid_t pid = -1;
        try {
            pid = detail::spawn_process(argv, env);
        } catch (const std::system_error& e) {
            throw backend_error(
                fmt::format("VM {}: cannot run {}: {}", vm.name, netvm_, e.code().message()));
        }
        vms_[vm.name] = vm_entry{pid, domid, true, false};
        spdlog::info("VM {}: started {} (pid {}, domid {})", vm.name, program_, pid, domid);
        if (options_.start_check.count() > 0) check_early_exit(vm, pid);
        return {vm_power::running, domid};
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
        if (e == nullptr) return {};
        return {e->suspended ? vm_power::suspended : vm_power::running, e->domid};
    }

  private:
    struct vm_entry {
        pid_t pid;
        std::optional<std::uint32_t> domid;
        bool child;      // spawned by this backend (we must reap it)
        bool suspended;  // by us, or seen stopped when adopted
    };

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
    std::vector<pid_t> exiting_;  // our children that left vms_ before we could reap them
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
