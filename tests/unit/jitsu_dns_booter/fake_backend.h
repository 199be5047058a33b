// A backend for booter tests: VMs are entries in a map; start can be slowed down or made
// to fail; every call is counted. Called on the booter's worker thread, inspected from
// the test thread, hence the mutex.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "jitsu_dns/backend.h"

namespace jitsu::dns::test {

class fake_backend final : public backend {
  public:
    std::string_view kind() const override { return "fake"; }

    vm_status start(const vm_spec& vm) override {
        std::this_thread::sleep_for(start_delay.load());
        ++starts;
        std::lock_guard lock(m_);
        if (fail_start) throw backend_error(vm.name + ": start failed (fake)");
        auto& e = vms_[vm.name];
        if (e.power != vm_power::stopped) throw backend_error(vm.name + ": already running");
        e = {vm_power::running, next_domid_++, std::nullopt};
        if (dies_after_start.load().count() >= 0) {
            e.dies_at = std::chrono::steady_clock::now() + dies_after_start.load();
        }
        ++running_now_;
        max_running_ = std::max(max_running_, running_now_);
        if (with_progress) {
            int fds[2];
            if (::pipe2(fds, O_CLOEXEC) != 0) throw backend_error("pipe2 failed");
            progress_read_[vm.name] = fds[0];
            if (auto it = progress_write_.find(vm.name); it != progress_write_.end()) {
                ::close(it->second);
            }
            progress_write_[vm.name] = fds[1];
        }
        return {e.power, e.domid, {}};
    }
    void stop(const vm_spec& vm, stop_mode mode) override {
        std::this_thread::sleep_for(stop_delay.load());
        ++stops;
        last_stop_mode = mode;
        std::lock_guard lock(m_);
        if (fail_stop) throw backend_error(vm.name + ": stop failed (fake)");
        if (mode == stop_mode::suspend) {
            auto it = vms_.find(vm.name);
            if (it != vms_.end()) it->second.power = vm_power::suspended;
        } else if (vms_.erase(vm.name) > 0) {
            --running_now_;
        }
    }
    void resume(const vm_spec& vm) override {
        ++resumes;
        std::lock_guard lock(m_);
        auto it = vms_.find(vm.name);
        if (it == vms_.end() || it->second.power != vm_power::suspended) {
            throw backend_error(vm.name + ": not suspended");
        }
        it->second.power = vm_power::running;
    }
    vm_status status(const vm_spec& vm) override {
        ++statuses;
        std::lock_guard lock(m_);
        auto it = vms_.find(vm.name);
        if (it != vms_.end() && it->second.dies_at &&
            std::chrono::steady_clock::now() >= *it->second.dies_at) {
            vms_.erase(it);
            --running_now_;
            return {vm_power::stopped, std::nullopt, "fake: died during boot"};
        }
        if (it == vms_.end()) return {};
        return {it->second.power, it->second.domid, {}};
    }
    int take_progress_fd(const vm_spec& vm) override {
        std::lock_guard lock(m_);
        auto it = progress_read_.find(vm.name);
        if (it == progress_read_.end()) return -1;
        const int fd = it->second;
        progress_read_.erase(it);
        return fd;
    }
    std::string ended(const vm_spec& vm) override {
        ++endeds;
        std::lock_guard lock(m_);
        if (vms_.erase(vm.name) > 0) --running_now_;
        return ended_reason;
    }

    // Test controls.
    void preset(const std::string& name, vm_power power, std::uint32_t domid) {
        std::lock_guard lock(m_);
        vms_[name] = {power, domid, std::nullopt};
    }
    void kill(const std::string& name) {
        std::lock_guard lock(m_);
        if (vms_.erase(name) > 0) --running_now_;
    }
    // with_progress: what the VM `name` says on its progress pipe; close = its end (EOF).
    void say(const std::string& name, const std::string& line) {
        std::lock_guard lock(m_);
        auto it = progress_write_.find(name);
        if (it == progress_write_.end()) return;
        const std::string text = line + "\n";
        [[maybe_unused]] auto n = ::write(it->second, text.data(), text.size());
    }
    void close_progress(const std::string& name) {
        std::lock_guard lock(m_);
        auto it = progress_write_.find(name);
        if (it == progress_write_.end()) return;
        ::close(it->second);
        progress_write_.erase(it);
    }
    int running_now() {
        std::lock_guard lock(m_);
        return running_now_;
    }
    int max_running() {
        std::lock_guard lock(m_);
        return max_running_;
    }
    ~fake_backend() override {
        for (auto& [n, fd] : progress_read_) ::close(fd);
        for (auto& [n, fd] : progress_write_) ::close(fd);
    }
    vm_power power(const std::string& name) {
        std::lock_guard lock(m_);
        auto it = vms_.find(name);
        return it == vms_.end() ? vm_power::stopped : it->second.power;
    }

    std::atomic<std::chrono::milliseconds> start_delay{std::chrono::milliseconds(0)};
    std::atomic<std::chrono::milliseconds> stop_delay{std::chrono::milliseconds(0)};
    std::atomic<bool> fail_start{false}, fail_stop{false};
    // >= 0: a started VM is gone this long after its start (status() then says so, with a
    // failure), like a VM that crashes while booting.
    std::atomic<std::chrono::milliseconds> dies_after_start{std::chrono::milliseconds(-1)};
    // start() opens a progress pipe per VM (take_progress_fd), written with say().
    std::atomic<bool> with_progress{false};
    std::string ended_reason;  // what ended() says (set before start_booter)
    std::atomic<int> starts{0}, stops{0}, resumes{0}, statuses{0}, endeds{0};
    std::atomic<stop_mode> last_stop_mode{stop_mode::destroy};

  private:
    struct entry {
        vm_power power = vm_power::stopped;
        std::uint32_t domid = 0;
        std::optional<std::chrono::steady_clock::time_point> dies_at;
    };
    std::mutex m_;
    std::map<std::string, entry> vms_;
    std::uint32_t next_domid_ = 5;
    int running_now_ = 0, max_running_ = 0;
    std::map<std::string, int> progress_read_, progress_write_;
};

}  // namespace jitsu::dns::test
