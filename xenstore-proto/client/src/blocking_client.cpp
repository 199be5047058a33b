#include "xenstore/blocking_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <memory>
#include <optional>

namespace jitsu::xenstore {

namespace {

template <class T>
struct outcome {
    std::optional<result<T>> value;
    std::exception_ptr error;
    bool done = false;
};

template <class T>
asio::awaitable<void> store(std::shared_ptr<outcome<T>> out, asio::awaitable<result<T>> op) {
    out->value.emplace(co_await std::move(op));
}

}  // namespace

blocking_client::blocking_client(client_options options)
    : client_(ctx_.get_executor(), std::move(options)) {}

blocking_client::~blocking_client() { client_.close(); }

template <class T>
result<T> blocking_client::wait(asio::awaitable<result<T>> op) {
    // Shared, not on this stack: if run_one() throws, the handler still has its target.
    auto out = std::make_shared<outcome<T>>();
    asio::co_spawn(ctx_, store<T>(out, std::move(op)), [out](std::exception_ptr e) {
        out->error = e;
        out->done = true;
    });
    // co_spawn keeps the context busy until `done`, so run_one() blocks, never spins.
    // Every request ends (reply, timeout, connection loss), so this returns.
    while (!out->done) {
        if (ctx_.stopped()) ctx_.restart();
        ctx_.run_one();
    }
    if (out->error) std::rethrow_exception(out->error);
    return std::move(*out->value);
}

result<void> blocking_client::connect() { return wait(client_.connect()); }
void blocking_client::close() { client_.close(); }
bool blocking_client::connected() const { return client_.connected(); }

result<std::string> blocking_client::read(std::string_view path, tx_id tx) {
    return wait(client_.read(path, tx));
}
result<void> blocking_client::write(std::string_view path, std::string_view value, tx_id tx) {
    return wait(client_.write(path, value, tx));
}
result<void> blocking_client::mkdir(std::string_view path, tx_id tx) {
    return wait(client_.mkdir(path, tx));
}
result<void> blocking_client::rm(std::string_view path, tx_id tx) {
    return wait(client_.rm(path, tx));
}
result<std::vector<std::string>> blocking_client::directory(std::string_view path, tx_id tx) {
    return wait(client_.directory(path, tx));
}
result<std::vector<permission>> blocking_client::get_perms(std::string_view path, tx_id tx) {
    return wait(client_.get_perms(path, tx));
}
result<void> blocking_client::set_perms(std::string_view path, std::span<const permission> perms,
                                        tx_id tx) {
    return wait(client_.set_perms(path, perms, tx));
}
result<std::string> blocking_client::get_domain_path(std::uint32_t domid) {
    return wait(client_.get_domain_path(domid));
}
result<void> blocking_client::write_many(std::span<const client::string_pair> writes, tx_id tx) {
    return wait(client_.write_many(writes, tx));
}
result<tx_id> blocking_client::transaction_start() { return wait(client_.transaction_start()); }
result<void> blocking_client::transaction_end(tx_id tx, bool commit) {
    return wait(client_.transaction_end(tx, commit));
}
result<void> blocking_client::watch(std::string path, std::string token, watch_handler handler) {
    return wait(client_.watch(std::move(path), std::move(token), std::move(handler)));
}
result<void> blocking_client::unwatch(std::string_view path, std::string_view token) {
    return wait(client_.unwatch(path, token));
}

bool blocking_client::run_until(const std::function<bool()>& done,
                                std::chrono::milliseconds limit) {
    // The timer is the deadline and keeps run_one() from returning for lack of work.
    asio::steady_timer timer(ctx_, limit);
    bool expired = false;
    timer.async_wait([&expired](const boost::system::error_code&) { expired = true; });
    while (!done() && !expired) {
        if (ctx_.stopped()) ctx_.restart();
        ctx_.run_one();
    }
    bool ok = done();
    timer.cancel();
    while (!expired) {  // the handler refers to this frame: let it run before returning
        if (ctx_.stopped()) ctx_.restart();
        ctx_.run_one();
    }
    return ok;
}

void blocking_client::run_for(std::chrono::milliseconds duration) {
    run_until([] { return false; }, duration);
}

}  // namespace jitsu::xenstore
