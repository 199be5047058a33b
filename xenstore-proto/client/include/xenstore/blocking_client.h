// A synchronous wrapper over the async client, for tests, tools and start-up code —
// not for hot paths. It owns an io_context and runs it on the calling thread inside
// each call; watch handlers run during any call or during run_for()/run_until().
// Not thread-safe: use one blocking_client per thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xenstore/client.h"

namespace jitsu::xenstore {

class blocking_client {
  public:
    explicit blocking_client(client_options options = {});
    ~blocking_client();
    blocking_client(const blocking_client&) = delete;
    blocking_client& operator=(const blocking_client&) = delete;

    result<void> connect();
    void close();
    bool connected() const;

    result<std::string> read(std::string_view path, tx_id tx = {});
    result<void> write(std::string_view path, std::string_view value, tx_id tx = {});
    result<void> mkdir(std::string_view path, tx_id tx = {});
    result<void> rm(std::string_view path, tx_id tx = {});
    result<std::vector<std::string>> directory(std::string_view path, tx_id tx = {});
    result<std::vector<permission>> get_perms(std::string_view path, tx_id tx = {});
    result<void> set_perms(std::string_view path, std::span<const permission> perms, tx_id tx = {});
    result<std::string> get_domain_path(std::uint32_t domid);
    result<void> write_many(std::span<const client::string_pair> writes, tx_id tx = {});
    result<tx_id> transaction_start();
    result<void> transaction_end(tx_id tx, bool commit);
    result<void> watch(std::string path, std::string token, watch_handler handler);
    result<void> unwatch(std::string_view path, std::string_view token);

    // Runs the event loop (delivering watch events) until `done()` holds or `limit`
    // passes; returns done().
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit);
    void run_for(std::chrono::milliseconds duration);

    client& async_client() { return client_; }
    asio::io_context& context() { return ctx_; }

  private:
    template <class T>
    result<T> wait(asio::awaitable<result<T>> op);

    asio::io_context ctx_;
    client client_;  // after ctx_: destroyed first
};

}  // namespace jitsu::xenstore
