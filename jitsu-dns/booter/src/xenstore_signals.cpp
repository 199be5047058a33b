#include "jitsu_dns/xenstore_signals.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <vector>

#include "common/booting_value.h"
#include "common/syn_record.h"

namespace jitsu::dns {

namespace asio = boost::asio;
using xenstore::result;
using xenstore::tx_id;

std::string synjitsu_booting_value(const vm_spec& vm) {
    booting_value value{vm.mac, vm.replay, vm.ports};
    if (vm.replay == replay_mode::host && vm.wait_for_port &&
        std::find(value.ports.begin(), value.ports.end(), *vm.wait_for_port) == value.ports.end()) {
        value.ports.push_back(*vm.wait_for_port);  // the catalog keeps room for it
    }
    return format_booting_value(value);
}

asio::awaitable<result<void>> announce_booting(xenstore::client& xs, const ip_address& ip,
                                               const std::string& value) {
    const std::string ip_path = ip_state_path(ip);
    const std::string booting_path = synjitsu_booting_path(ip);
    co_return co_await xs.transact([&](tx_id tx) -> asio::awaitable<result<void>> {
        // Removing a node whose parent is missing is ENOENT: only remove what is there.
        auto current = co_await xs.read(ip_path, tx);
        if (current.ok()) {
            auto r = co_await xs.rm(ip_path, tx);
            if (!r.ok()) co_return r;
        } else if (current.error() != std::errc::no_such_file_or_directory) {
            co_return current.error();
        }
        co_return co_await xs.write(booting_path, value, tx);
    });
}

asio::awaitable<result<void>> withdraw_booting(xenstore::client& xs, const ip_address& ip) {
    // No temporaries with destructors inside co_await expressions (GCC 12 destroys them
    // twice): paths are locals throughout this file.
    const std::string path = synjitsu_booting_path(ip);
    auto r = co_await xs.rm(path);
    if (!r.ok() && r.error() == std::errc::no_such_file_or_directory) co_return result<void>{};
    co_return r;
}

asio::awaitable<bool> is_managed(xenstore::client& xs, const ip_address& ip) {
    const std::string path = ip_state_path(ip);
    auto r = co_await xs.read(path);
    co_return r.ok() && *r == managed_value;
}

namespace {

std::string next_token() {
    static std::atomic<std::uint64_t> counter{0};
    return fmt::format("jitsu-dns/{}", ++counter);
}

// A watch on one node that finishes once `accept` holds for a read of it, or (when a
// timeout is given) when the time is up. Shared: the watch handler and the timer hold
// only weak references, the coroutines in flight strong ones.
class node_watch final : public pending_signal, public std::enable_shared_from_this<node_watch> {
  public:
    using accept_fn = bool (*)(const result<std::string>&);

    node_watch(xenstore::client& xs, std::string path, accept_fn accept,
               std::function<void(bool)> done)
        : xs_(xs),
          path_(std::move(path)),
          token_(next_token()),
          accept_(accept),
          done_(std::move(done)),
          timer_(xs.get_executor()) {}

    void start(std::optional<std::chrono::milliseconds> timeout) {
        auto self = shared_from_this();
        if (timeout) {
            timer_.expires_after(*timeout);
            timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
                auto s = weak.lock();
                if (s && !ec) s->finish(false);
            });
        }
        asio::co_spawn(
            xs_.get_executor(),
            [self]() -> asio::awaitable<void> {
                std::weak_ptr<node_watch> weak = self;
                std::string path = self->path_;
                std::string token = self->token_;
                xenstore::watch_handler handler = [weak](std::string_view p, std::string_view) {
                    auto s = weak.lock();
                    if (s && p == s->path_) s->check();
                };
                auto r =
                    co_await self->xs_.watch(std::move(path), std::move(token), std::move(handler));
                if (!r.ok() && !self->finished_) {
                    spdlog::warn("xenstore: watching {} failed: {}", self->path_,
                                 r.error().message());
                }
                self->watching_ = r.ok();
                if (self->finished_ && r.ok()) self->unwatch();
            },
            asio::detached);
    }

    void cancel() override {
        if (finished_) return;
        finished_ = true;
        done_ = nullptr;
        timer_.cancel();
        unwatch();
    }

  private:
    void check() {
        if (finished_) return;
        asio::co_spawn(
            xs_.get_executor(),
            [self = shared_from_this()]() -> asio::awaitable<void> {
                auto r = co_await self->xs_.read(self->path_);
                if (!self->finished_ && self->accept_(r)) self->finish(true);
            },
            asio::detached);
    }

    void finish(bool ok) {
        if (finished_) return;
        finished_ = true;
        timer_.cancel();
        unwatch();
        auto done = std::move(done_);
        done_ = nullptr;
        if (done) done(ok);
    }

    void unwatch() {
        if (!watching_) return;  // start() unwatches once registration completes
        watching_ = false;
        asio::co_spawn(
            xs_.get_executor(),
            [self = shared_from_this()]() -> asio::awaitable<void> {
                (void)co_await self->xs_.unwatch(self->path_, self->token_);
            },
            asio::detached);
    }

    xenstore::client& xs_;
    const std::string path_;
    const std::string token_;
    accept_fn accept_;
    std::function<void(bool)> done_;
    asio::steady_timer timer_;
    bool finished_ = false;
    bool watching_ = false;
};

}  // namespace

std::shared_ptr<pending_signal> watch_managed(xenstore::client& xs, const ip_address& ip,
                                              std::function<void()> on_managed) {
    auto w = std::make_shared<node_watch>(
        xs, ip_state_path(ip),
        [](const result<std::string>& r) { return r.ok() && *r == managed_value; },
        [cb = std::move(on_managed)](bool ok) {
            if (ok && cb) cb();
        });
    w->start(std::nullopt);
    return w;
}

std::shared_ptr<pending_signal> wait_for_node(xenstore::client& xs, std::string path,
                                              std::chrono::milliseconds timeout,
                                              std::function<void(bool appeared)> done) {
    auto w = std::make_shared<node_watch>(
        xs, std::move(path), [](const result<std::string>& r) { return r.ok(); }, std::move(done));
    w->start(timeout);
    return w;
}

}  // namespace jitsu::dns
