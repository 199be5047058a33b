// The netns backend's process handling, with tests/unit/jitsu_dns_catalog/fake-netvm in
// place of jitsu-netvm (no namespaces, no network): start, domids, suspend/resume,
// stop with and without SIGKILL, adoption by a second backend, reaping, failures.
// Each test copies the fake under a name of its own, so tests running in parallel never
// see each other's processes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "jitsu_dns/catalog.h"
#include "jitsu_dns/netns_backend.h"
#include "temp_dir.h"

namespace jitsu::dns {
namespace {

using namespace std::chrono_literals;

class netns_lifecycle : public ::testing::Test {
  protected:
    void SetUp() override {
        const std::string program = "fake-netvm-" + std::to_string(::getpid());
        fake_ = dir_.path() / program;
        std::filesystem::copy_file(
            std::filesystem::path(JITSU_SOURCE_DIR) / "tests/unit/jitsu_dns_catalog/fake-netvm",
            fake_);
        log_ = dir_.path() / "log";
        options_.netvm_path = fake_;
        options_.netvm_extra_args = {"--log", log_.string()};
        options_.stop_grace = 3s;
    }

    void TearDown() override {
        // Whatever a failed test left running.
        for (pid_t pid : pids_in_log()) ::kill(pid, SIGKILL);
    }

    vm_spec vm(const std::string& tag, int ip) const {
        return parse_vm_spec(fmt_spec(tag, ip), catalog_defaults{});
    }
    static std::string fmt_spec(const std::string& tag, int ip) {
        return "name=" + tag + std::to_string(::getpid()) + ",dns=" + tag + ".example,ip=10.0.0." +
               std::to_string(ip) + ",nic=br0,cmd=/bin/true";
    }

    std::string log() const {
        std::ifstream in(log_);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    std::vector<pid_t> pids_in_log() const {
        std::vector<pid_t> out;
        std::istringstream in(log());
        std::string word;
        while (in >> word) {
            if (word == "start") {
                pid_t p = 0;
                if (in >> p) out.push_back(p);
            }
        }
        return out;
    }
    // Bounded wait for `text` to appear in the log (the fake logs asynchronously).
    bool log_has(const std::string& text, std::chrono::milliseconds timeout = 3s) const {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (log().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }
    pid_t wait_ready(std::size_t nth) const {
        for (int i = 0; i < 600; ++i) {
            std::istringstream in(log());
            std::string word;
            std::vector<pid_t> ready;
            while (in >> word) {
                pid_t p = 0;
                if (word == "ready" && in >> p) ready.push_back(p);
            }
            if (ready.size() > nth) return ready[nth];
            std::this_thread::sleep_for(5ms);
        }
        ADD_FAILURE() << "fake-netvm #" << nth << " never became ready; log:\n" << log();
        return -1;
    }
    static bool zombie_or_gone(pid_t pid) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string stat;
        std::getline(in, stat);
        if (stat.empty()) return true;
        return stat.substr(stat.rfind(')') + 2, 1) == "Z";
    }
    static bool gone(pid_t pid) { return !std::filesystem::exists("/proc/" + std::to_string(pid)); }

    testing::temp_dir dir_;
    std::filesystem::path fake_, log_;
    backend_options options_;
};

TEST_F(netns_lifecycle, start_status_domids_stop) {
    auto b = make_backend("netns", options_);
    const auto a = vm("a", 1), c = vm("c", 2), d = vm("d", 3);
    EXPECT_EQ(b->status(a).power, vm_power::stopped);
    const auto sa = b->start(a);
    EXPECT_EQ(sa.power, vm_power::running);
    EXPECT_EQ(sa.domid, 1U);
    const pid_t pa = wait_ready(0);
    const auto sc = b->start(c);
    EXPECT_EQ(sc.domid, 2U);
    wait_ready(1);
    // The fake got jitsu-netvm's command line.
    EXPECT_NE(log().find("--name " + a.name +
                         " --bridge br0 --ip 10.0.0.1/24 --mac 00:16:3e:00:00:01 "
                         "--boot-delay 0.000 --domid 1 --ready-fd 3 --log"),
              std::string::npos)
        << log();
    EXPECT_EQ(b->status(a).power, vm_power::running);
    EXPECT_EQ(b->status(a).domid, 1U);
    // Starting a running VM does not start a second one.
    EXPECT_EQ(b->start(a).domid, 1U);
    EXPECT_EQ(pids_in_log().size(), 2U);

    b->stop(a, stop_mode::destroy);
    EXPECT_TRUE(log_has("TERM"));
    EXPECT_TRUE(gone(pa)) << "reaped, not a zombie";
    EXPECT_EQ(b->status(a).power, vm_power::stopped);
    EXPECT_FALSE(b->status(a).domid);
    // The lowest free domid is reused.
    EXPECT_EQ(b->start(d).domid, 1U);
    wait_ready(2);
    // Stopping a stopped VM is fine.
    EXPECT_NO_THROW(b->stop(a, stop_mode::shutdown));
    EXPECT_NO_THROW(b->stop(a, stop_mode::suspend));
    b->stop(c, stop_mode::shutdown);
    b->stop(d, stop_mode::destroy);
    EXPECT_EQ(b->status(c).power, vm_power::stopped);
    EXPECT_EQ(b->status(d).power, vm_power::stopped);
}

TEST_F(netns_lifecycle, suspend_resume_signals) {
    auto b = make_backend("netns", options_);
    const auto a = vm("s", 1);
    b->start(a);
    wait_ready(0);
    b->stop(a, stop_mode::suspend);
    EXPECT_TRUE(log_has("USR1"));
    EXPECT_EQ(b->status(a).power, vm_power::suspended);
    EXPECT_EQ(b->status(a).domid, 1U);
    b->resume(a);
    EXPECT_TRUE(log_has("USR2"));
    EXPECT_EQ(b->status(a).power, vm_power::running);
    // start() of a suspended VM resumes it.
    b->stop(a, stop_mode::suspend);
    EXPECT_EQ(b->start(a).power, vm_power::running);
    EXPECT_EQ(b->status(a).power, vm_power::running);
    b->stop(a, stop_mode::destroy);
    try {
        b->resume(a);
        FAIL() << "resumed a stopped VM";
    } catch (const backend_error& e) {
        EXPECT_EQ(std::string(e.what()), "VM " + a.name + ": not running, cannot resume it");
    }
}

TEST_F(netns_lifecycle, a_second_backend_adopts_running_vms) {
    auto first = make_backend("netns", options_);
    const auto a = vm("a", 1), c = vm("c", 2);
    first->start(a);
    const pid_t pa = wait_ready(0);  // one at a time: "ready" lines come in start order
    first->start(c);
    wait_ready(1);
    first->stop(c, stop_mode::suspend);
    ASSERT_TRUE(log_has("USR1"));

    // A restarted jitsu-dns: knows nothing, reads domids back from /proc.
    auto second = make_backend("netns", options_);
    EXPECT_EQ(second->status(a).power, vm_power::running);
    EXPECT_EQ(second->status(a).domid, 1U);
    // Suspension seen from the stopped CMD (allow the fake its trap latency).
    vm_status sc;
    for (int i = 0;
         i < 100 && (sc = make_backend("netns", options_)->status(c)).power != vm_power::suspended;
         ++i) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(sc.power, vm_power::suspended);
    EXPECT_EQ(sc.domid, 2U);
    // New VMs do not take adopted domids.
    const auto d = vm("d", 3);
    EXPECT_EQ(second->start(d).domid, 3U);
    wait_ready(2);
    // Stopping an adopted (non-child) process works by polling /proc.
    second->stop(a, stop_mode::destroy);
    EXPECT_TRUE(zombie_or_gone(pa));
    EXPECT_EQ(second->status(a).power, vm_power::stopped);
    // The first backend, its parent, reaps it: no zombie remains.
    EXPECT_EQ(first->status(a).power, vm_power::stopped);
    EXPECT_TRUE(gone(pa));
    second->stop(c, stop_mode::destroy);
    second->stop(d, stop_mode::destroy);
    EXPECT_EQ(first->status(c).power, vm_power::stopped);
}

TEST_F(netns_lifecycle, sigkill_after_the_grace_period) {
    options_.netvm_extra_args.push_back("--ignore-term");
    options_.stop_grace = 300ms;
    auto b = make_backend("netns", options_);
    const auto a = vm("k", 1);
    b->start(a);
    const pid_t pa = wait_ready(0);
    const auto t0 = std::chrono::steady_clock::now();
    b->stop(a, stop_mode::destroy);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 2500ms);
    EXPECT_TRUE(gone(pa));
    EXPECT_EQ(b->status(a).power, vm_power::stopped);
}

TEST_F(netns_lifecycle, exited_vm_is_reaped_and_reported_stopped) {
    options_.netvm_extra_args.insert(options_.netvm_extra_args.end(), {"--live", "1"});
    auto b = make_backend("netns", options_);
    const auto a = vm("x", 1);
    b->start(a);
    const pid_t pa = wait_ready(0);
    for (int i = 0; i < 300 && !zombie_or_gone(pa); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(zombie_or_gone(pa));
    EXPECT_EQ(b->status(a).power, vm_power::stopped);
    EXPECT_TRUE(gone(pa)) << "status() must reap our exited child";
}

// The progress pipe: fd 3 of jitsu-netvm, handed to the booter once; its EOF comes when
// jitsu-netvm exits, and ended() then reaps it and says how it failed.
TEST_F(netns_lifecycle, progress_pipe_eof_and_how_it_ended) {
    options_.netvm_extra_args.insert(options_.netvm_extra_args.end(), {"--exit", "1"});
    auto b = make_backend("netns", options_);
    const auto a = vm("p", 1);
    b->start(a);
    const int fd = b->take_progress_fd(a);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(b->take_progress_fd(a), -1) << "handed over once";
    char c = 0;
    ssize_t n = -1;
    for (int i = 0; i < 300 && n < 0; ++i) {  // non-blocking: EAGAIN until the fake exits
        n = ::read(fd, &c, 1);
        if (n < 0) std::this_thread::sleep_for(10ms);
    }
    ::close(fd);
    EXPECT_EQ(n, 0) << "no EOF after jitsu-netvm exited";
    EXPECT_EQ(b->ended(a), fake_.filename().string() + " exited with 1 (setting up failed)");
    EXPECT_EQ(b->status(a).power, vm_power::stopped);
}

TEST_F(netns_lifecycle, failure_of_an_unwatched_vm_is_told_by_status_once) {
    options_.netvm_extra_args.insert(options_.netvm_extra_args.end(), {"--exit", "3"});
    auto b = make_backend("netns", options_);
    const auto a = vm("q", 1);
    b->start(a);
    ::close(b->take_progress_fd(a));
    ASSERT_TRUE(log_has("start "));
    const pid_t pid = pids_in_log().at(0);
    for (int i = 0; i < 300 && !zombie_or_gone(pid); ++i) std::this_thread::sleep_for(10ms);
    const auto st = b->status(a);
    EXPECT_EQ(st.power, vm_power::stopped);
    EXPECT_EQ(st.failure, fake_.filename().string() +
                              " exited with 3 (CMD could not start or did not listen in time)");
    EXPECT_EQ(b->status(a).failure, "") << "told once";
}

TEST_F(netns_lifecycle, start_failures) {
    options_.netvm_path = dir_.path() / "no-such-netvm";
    try {
        make_backend("netns", options_)->start(vm("f", 1));
        FAIL() << "started";
    } catch (const backend_error& e) {
        EXPECT_EQ(std::string(e.what()), "VM f" + std::to_string(::getpid()) + ": cannot run " +
                                             options_.netvm_path.string() +
                                             ": No such file or directory");
    }
    options_.netvm_path = fake_;
    options_.netvm_extra_args.insert(options_.netvm_extra_args.end(), {"--exit", "1"});
    options_.start_check = 2s;
    try {
        make_backend("netns", options_)->start(vm("f", 1));
        FAIL() << "started";
    } catch (const backend_error& e) {
        EXPECT_EQ(std::string(e.what()), "VM f" + std::to_string(::getpid()) + ": " +
                                             fake_.filename().string() +
                                             " exited with 1 (setting up failed)");
    }
}

}  // namespace
}  // namespace jitsu::dns
