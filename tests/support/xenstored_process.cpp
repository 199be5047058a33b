#include "xenstored_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

extern char** environ;

namespace jitsu::test {

using namespace std::chrono_literals;

namespace {

// Ready means accepting: the socket file appears at bind(), before listen(), so a stat()
// alone races the daemon and a client connecting in between is refused.
bool accepts_connections(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return false;
    path.copy(addr.sun_path, path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

std::string temp_socket_path(const std::string& tag) {
    static std::atomic<int> counter{0};
    return "/tmp/jitsu-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(counter++) + ".sock";
}

xenstored_process::xenstored_process(std::string socket_path) : socket_(std::move(socket_path)) {
    start();
}

xenstored_process::~xenstored_process() {
    stop();
    ::unlink(socket_.c_str());
}

void xenstored_process::start() {
    if (pid_ > 0) return;
    std::vector<std::string> args{JITSU_XENSTORED_BIN, "--socket", socket_};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::unlink(socket_.c_str());
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
        pid_ = -1;
        return;
    }
    for (int i = 0; i < 500; ++i) {
        if (accepts_connections(socket_)) return;
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // died on start
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(10ms);
    }
}

void xenstored_process::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(10ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

}  // namespace jitsu::test
