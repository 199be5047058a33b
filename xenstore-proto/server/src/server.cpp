#include "xenstored/server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "xenstored/connection.h"
#include "xenstored/core.h"
#include "xenstored/log_limiter.h"
#include "xenstored/persist.h"
#include "xenstored/request_handler.h"

namespace jitsu::xenstored {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

// Does a server answer on `path`? (connect succeeds)
bool live_server_at(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) return false;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return live;
}

struct listener {
    listen_spec spec;
    stream::acceptor acceptor;
    ino_t inode = 0;
    bool created = false;
    // Not accepting: its domain is at its connection quota (resumed when one closes), or
    // the process is out of file descriptors (resumed by backoff).
    bool paused = false;
    std::unique_ptr<asio::steady_timer> backoff;
};

// Errors that say "no resources now": accepting again at once would fail the same way
// and spin, so the listener waits a little.
bool out_of_resources(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
           ec == asio::error::no_memory ||
           ec == boost::system::error_code(ENFILE, boost::system::system_category());
}

}  // namespace

struct server::impl final : connection_owner {
    explicit impl(server_config c) : cfg(std::move(c)) {}

    server_config cfg;
    // Declared before the io_context: handlers still queued in it when it is destroyed
    // hold connections, whose sessions detach from the core.
    std::unique_ptr<core> state;
    std::unique_ptr<journal> persist;
    std::unique_ptr<request_handler> handler;
    asio::io_context io{1};  // one thread: Asio skips cross-thread work
    asio::signal_set signals{io};
    std::vector<std::unique_ptr<listener>> listeners;
    std::set<std::shared_ptr<connection>> connections;
    std::map<std::uint32_t, std::uint32_t> domain_connections;  // open, per unprivileged domid
    std::uint64_t unprivileged_connections = 0;
    // File descriptors unprivileged domains may hold together: the open-files limit less a
    // reserve, so that domains can never take the descriptors dom0's socket needs.
    std::uint64_t unprivileged_budget = 0;
    // Rate-limited logs: one line per interval, with a count.
    log_limiter accept_log{std::chrono::seconds(5)};
    log_limiter overflow_log{std::chrono::seconds(5)};
    bool pid_file_written = false;
    int exit_code = 0;
    bool stopping = false;

    void open_listener(const listen_spec& spec);
    void accept(listener& l);
    void accept_failed(listener& l, const boost::system::error_code& ec);
    bool at_quota(const listener& l) const;
    void stop_all(int code);
    void cleanup();

    void connection_closed(const std::shared_ptr<connection>& c) override {
        if (connections.erase(c) == 0) return;
        const std::uint32_t domid = c->client().domid();
        if (domid == 0) return;
        auto it = domain_connections.find(domid);
        if (it != domain_connections.end() && --it->second == 0) domain_connections.erase(it);
        --unprivileged_connections;
        for (auto& l : listeners) {
            if (l->paused && !l->backoff && l->spec.domid != 0 && !at_quota(*l)) {
                l->paused = false;
                accept(*l);
            }
        }
    }
    void output_overflowed(const connection& c) override {
        std::uint64_t n = 0;
        if (!overflow_log.due(n)) return;
        const session& s = c.client();
        spdlog::warn(
            "session {} (dom{}): more than {} bytes unread{}, disconnecting ({} such "
            "connection(s) since the last such line)",
            s.id(), s.domid(), state->quotas().output_limit,
            s.privileged() ? "" : " over the domain's connections", n);
    }
};

void server::impl::open_listener(const listen_spec& spec) {
    const std::string& path = spec.path;
    if (path.empty()) throw startup_error("empty socket path");
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        throw startup_error(fmt::format("socket path too long: {}", path));
    }
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            throw startup_error(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
        }
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            throw startup_error(fmt::format("{} exists and is not a socket", path));
        }
        if (live_server_at(path)) {
            throw startup_error(fmt::format("another server is already listening on {}", path));
        }
        ::unlink(path.c_str());  // stale, from a server that did not exit cleanly
    }
    auto l = std::make_unique<listener>(listener{spec, stream::acceptor(io), 0, false, false, {}});
    boost::system::error_code ec;
    l->acceptor.open(stream(), ec);
    if (!ec) l->acceptor.bind(stream::endpoint(path), ec);
    if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw startup_error(fmt::format("cannot listen on {}: {}", path, ec.message()));
    l->created = true;
    if (::stat(path.c_str(), &st) == 0) l->inode = st.st_ino;
    listeners.push_back(std::move(l));
}

bool server::impl::at_quota(const listener& l) const {
    if (l.spec.domid == 0) return false;
    if (unprivileged_connections >= unprivileged_budget) return true;
    auto it = domain_connections.find(l.spec.domid);
    return it != domain_connections.end() && it->second >= state->quotas().connections_per_domain;
}

void server::impl::accept(listener& l) {
    if (at_quota(l)) {
        l.paused = true;  // connection_closed resumes it
        return;
    }
    l.acceptor.async_accept([this, &l](boost::system::error_code ec, stream::socket sock) {
        if (stopping) return;
        if (!ec) {
            auto c = std::make_shared<connection>(std::move(sock), *handler, l.spec.domid, *this);
            connections.insert(c);
            if (l.spec.domid != 0) {
                ++domain_connections[l.spec.domid];
                ++unprivileged_connections;
            }
            c->start();
        } else if (ec == asio::error::operation_aborted) {
            return;
        } else {
            accept_failed(l, ec);
            return;
        }
        accept(l);
    });
}

// Out of file descriptors (or memory), accepting at once would fail again: each listener
// waits 100 ms (others, dom0's among them, go on as their own accepts allow). Logged at
// most once per 5 s, with how many failures the line stands for.
void server::impl::accept_failed(listener& l, const boost::system::error_code& ec) {
    using namespace std::chrono_literals;
    std::uint64_t failures = 0;
    if (accept_log.due(failures)) {
        spdlog::warn("accept on {}: {} ({} failure(s) since the last such line){}", l.spec.path,
                     ec.message(), failures, out_of_resources(ec) ? "; pausing 100 ms" : "");
    }
    l.paused = true;
    if (!l.backoff) l.backoff = std::make_unique<asio::steady_timer>(io);
    l.backoff->expires_after(out_of_resources(ec) ? 100ms : 10ms);
    l.backoff->async_wait([this, &l](boost::system::error_code wait_ec) {
        l.backoff.reset();
        if (wait_ec || stopping) return;
        l.paused = false;
        accept(l);
    });
}

void server::impl::stop_all(int code) {
    if (stopping) return;
    stopping = true;
    exit_code = code;
    boost::system::error_code ignored;
    signals.cancel(ignored);
    for (auto& l : listeners) {
        l->acceptor.close(ignored);
        if (l->backoff) l->backoff->cancel();
    }
    auto all = connections;
    for (const auto& c : all) c->stop();
    connections.clear();
    // With every socket closed, run() returns once the aborted handlers have run.
}

void server::impl::cleanup() {
    for (auto& l : listeners) {
        boost::system::error_code ignored;
        l->acceptor.close(ignored);
        // Remove the socket file only if it is still ours.
        struct stat st {};
        if (l->created && ::lstat(l->spec.path.c_str(), &st) == 0 && st.st_ino == l->inode) {
            ::unlink(l->spec.path.c_str());
        }
    }
    listeners.clear();
    if (pid_file_written) {
        ::unlink(cfg.pid_file.c_str());
        pid_file_written = false;
    }
}

server::server(server_config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

server::~server() {
    if (impl_) impl_->cleanup();
}

void server::start() {
    impl& m = *impl_;
    std::signal(SIGPIPE, SIG_IGN);

    store initial;
    if (!m.cfg.persist_path.empty()) {
        try {
            journal::options opts;
            opts.path = m.cfg.persist_path;
            opts.fsync_each = m.cfg.persist_fsync;
            m.persist = journal::open(opts, initial);
        } catch (const persist_error& e) {
            throw startup_error(e.what());
        }
    }
    m.state = std::make_unique<core>(m.cfg.quotas, std::move(initial));
    m.state->set_trace_requests(m.cfg.verbose);
    if (m.persist) m.state->set_persistence(m.persist.get());
    m.handler = std::make_unique<request_handler>(*m.state);

    // Open files: the soft limit raised to the hard one, then a reserve kept from domains
    // for dom0's connections, the listeners, the journal and the logs.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0) {
        if (files.rlim_cur < files.rlim_max) {
            files.rlim_cur = files.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &files);
            ::getrlimit(RLIMIT_NOFILE, &files);
        }
        const std::uint64_t limit = files.rlim_cur == RLIM_INFINITY ? 1u << 20 : files.rlim_cur;
        const std::uint64_t reserve = std::max<std::uint64_t>(limit / 4, 64);
        m.unprivileged_budget = limit > reserve ? limit - reserve : 0;
    }

    m.open_listener({m.cfg.socket_path, 0});
    for (const auto& spec : m.cfg.domain_sockets) m.open_listener(spec);

    if (!m.cfg.pid_file.empty()) {
        const std::string pid = std::to_string(::getpid()) + "\n";
        int fd = ::open(m.cfg.pid_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || ::write(fd, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) {
            int err = errno;
            if (fd >= 0) ::close(fd);
            throw startup_error(
                fmt::format("cannot write pid file {}: {}", m.cfg.pid_file, std::strerror(err)));
        }
        ::close(fd);
        m.pid_file_written = true;
    }

    m.signals.add(SIGTERM);
    m.signals.add(SIGINT);
    m.signals.async_wait([&m](boost::system::error_code ec, int sig) {
        if (ec) return;
        spdlog::info("signal {}: shutting down", sig);
        m.stop_all(0);
    });
    for (auto& l : m.listeners) m.accept(*l);

    spdlog::info("serving on {}{}{}", m.cfg.socket_path,
                 m.cfg.domain_sockets.empty()
                     ? ""
                     : fmt::format(" (+{} domain sockets)", m.cfg.domain_sockets.size()),
                 m.persist ? fmt::format(", persisting to {}", m.cfg.persist_path) : "");
}

int server::run() {
    impl& m = *impl_;
    m.io.run();
    m.stop_all(m.exit_code);
    m.cleanup();
    return m.exit_code;
}

void server::shutdown(int code) { impl_->stop_all(code); }

}  // namespace jitsu::xenstored
