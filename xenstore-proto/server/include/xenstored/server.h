// jitsu-xenstored's process: the unix sockets, the connections, persistence, signals.
//
// start(): loads the persisted tree (refusing a corrupt file, dropping a torn last
// record), then for each socket creates its directory, refuses to start if a live server
// answers on the path, removes a stale socket file, listens; then writes the pid file.
// run() serves until SIGTERM or SIGINT (a failed write of the store only fails the
// request concerned), then closes every connection and removes the socket files it
// created and the pid file.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "xenstored/quota.h"

namespace jitsu::xenstored {

struct listen_spec {
    std::string path;
    std::uint32_t domid = 0;  // 0: dom0 (privileged); else an unprivileged domain
};

struct server_config {
    // Socket for dom0 clients (libxenstore, the xenstore-* tools, jitsu's parts).
    std::string socket_path = "/run/xenstored/socket";
    // Extra sockets whose connections act as an unprivileged domain.
    std::vector<listen_spec> domain_sockets;
    // Empty: no persistence.
    std::string persist_path;
    bool persist_fsync = false;
    std::string pid_file;
    bool verbose = false;
    quota_config quotas;
};

class startup_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class server {
  public:
    explicit server(server_config cfg);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Throws startup_error (one-line message).
    void start();
    // Serves until a signal or a fatal error; returns the process exit code.
    int run();
    // Asks run() to return `code` (thread-unsafe: call from the event loop).
    void shutdown(int code);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace jitsu::xenstored
