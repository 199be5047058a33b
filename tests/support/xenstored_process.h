// A jitsu-xenstored for one test: started on a socket, stopped (SIGTERM, then SIGKILL
// after 3 s) on destruction or stop(). The one way every suite gets a real Xenstore.
#pragma once

#include <sys/types.h>

#include <string>

namespace jitsu::test {

// A socket path unique to this process and call, under /tmp (tag names the suite).
std::string temp_socket_path(const std::string& tag);

class xenstored_process {
  public:
    // Starts build/bin/jitsu-xenstored --socket `socket_path` and waits (≤ 5 s) until it
    // accepts connections; running() tells whether it came up.
    explicit xenstored_process(std::string socket_path);
    ~xenstored_process();
    xenstored_process(const xenstored_process&) = delete;
    xenstored_process& operator=(const xenstored_process&) = delete;

    void start();  // again after stop(): same socket, fresh store
    void stop();
    bool running() const { return pid_ > 0; }
    const std::string& socket_path() const { return socket_; }

  private:
    std::string socket_;
    pid_t pid_ = -1;
};

}  // namespace jitsu::test
