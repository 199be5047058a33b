// A backend for booter tests: VMs are entries in a map; start can be slowed down or made
// to fail; every call is counted. Called on the booter's worker thread, inspected from
// the test thread, hence the mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
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
        e = {vm_power::running, next_domid_++};
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
        } else {
            vms_.erase(vm.name);
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
        if (it == vms_.end()) return {};
        return {it->second.power, it->second.domid, {}};
    }

    // Test controls.
    void preset(const std::string& name, vm_power power, std::uint32_t domid) {
        std::lock_guard lock(m_);
        vms_[name] = {power, domid};
    }
    void kill(const std::string& name) {
        std::lock_guard lock(m_);
        vms_.erase(name);
    }
    vm_power power(const std::string& name) {
        std::lock_guard lock(m_);
        auto it = vms_.find(name);
        return it == vms_.end() ? vm_power::stopped : it->second.power;
    }

    std::atomic<std::chrono::milliseconds> start_delay{std::chrono::milliseconds(0)};
    std::atomic<std::chrono::milliseconds> stop_delay{std::chrono::milliseconds(0)};
    std::atomic<bool> fail_start{false}, fail_stop{false};
    std::atomic<int> starts{0}, stops{0}, resumes{0}, statuses{0};
    std::atomic<stop_mode> last_stop_mode{stop_mode::destroy};

  private:
    struct entry {
        vm_power power = vm_power::stopped;
        std::uint32_t domid = 0;
    };
    std::mutex m_;
    std::map<std::string, entry> vms_;
    std::uint32_t next_domid_ = 5;
};

}  // namespace jitsu::dns::test
