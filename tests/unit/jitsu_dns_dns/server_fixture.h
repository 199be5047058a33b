#pragma once
// A jitsu-dns server on 127.0.0.1 (the test's private network namespace), its event loop
// on a background thread, and blocking POSIX clients for the test thread.
#include <netinet/in.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dns_test_util.h"
#include "jitsu_dns/server.h"

namespace jitsu::dns::test {

using namespace std::chrono_literals;

class server_fixture {
  public:
    explicit server_fixture(server_options o = {}, authority_config a = {},
                            vm_gate* gate = nullptr);
    ~server_fixture();

    // Runs f on the server's event loop and waits for it.
    void on_loop(const std::function<void()>& f);
    server_stats stats();
    std::uint16_t port() const { return port_; }

    boost::asio::io_context io;

  private:
    std::unique_ptr<server> server_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::thread thread_;
    std::uint16_t port_ = 0;
};

server_options local_options();

// A gate that answers `next` and keeps every wait_ready callback for the test to call.
class fake_gate : public vm_gate {
  public:
    verdict next = verdict::answer_now;
    std::vector<std::size_t> queried;
    std::vector<std::pair<std::size_t, std::function<void(bool)>>> waiters;

    verdict on_query(std::size_t vm) noexcept override {
        queried.push_back(vm);
        return next;
    }
    void wait_ready(std::size_t vm, std::function<void(bool)> done) override {
        waiters.emplace_back(vm, std::move(done));
    }
};

// Adds addresses ("10.53.0.1/24", "fd53::1/64") to lo in the test's private network
// namespace; one already there is left as it is. False if `ip` failed otherwise.
bool add_loopback_addresses(const std::vector<std::string>& addresses);

// One query from `from` (any port; "" = any address) to `to` port `port` over a
// CONNECTED UDP socket, as stub resolvers do: the kernel then delivers only datagrams
// whose source is `to`:`port`, so an answer sent from another address is lost.
std::optional<bytes> udp_ask_at(const std::string& from, const std::string& to, std::uint16_t port,
                                const bytes& query, std::chrono::milliseconds timeout = 2000ms);

// A UDP socket on 127.0.0.1 (any port unless given), with a receive timeout.
class udp_client {
  public:
    explicit udp_client(std::uint16_t port = 0);
    ~udp_client();
    udp_client(const udp_client&) = delete;
    udp_client& operator=(const udp_client&) = delete;
    void send_to(std::uint16_t port, const bytes& b);
    // Next datagram within `timeout`, and its source port.
    std::optional<bytes> receive(std::chrono::milliseconds timeout = 2000ms,
                                 std::uint16_t* from_port = nullptr);
    std::uint16_t port() const;
    int fd() const { return fd_; }

  private:
    int fd_;
};

std::optional<bytes> udp_ask(std::uint16_t port, const bytes& query,
                             std::chrono::milliseconds timeout = 2000ms);

class tcp_client {
  public:
    explicit tcp_client(std::uint16_t port);
    // To `to` (IPv4 or IPv6 text), from address `from` ("" = the kernel's choice).
    tcp_client(const std::string& to, std::uint16_t port, const std::string& from = "");
    ~tcp_client();
    tcp_client(const tcp_client&) = delete;
    tcp_client& operator=(const tcp_client&) = delete;
    bool connected() const { return fd_ >= 0; }
    void send_raw(const bytes& b);
    void send(const bytes& message);  // with the 2-octet length
    std::optional<bytes> receive(std::chrono::milliseconds timeout = 2000ms);
    // True if the server closed the connection within `timeout`.
    bool closed_by_peer(std::chrono::milliseconds timeout);

  private:
    bool read_exact(std::uint8_t* p, std::size_t n, std::chrono::milliseconds timeout);
    int fd_ = -1;
};

// Runs a shell command, returns its standard output.
std::string run_command(const std::string& command);

}  // namespace jitsu::dns::test
