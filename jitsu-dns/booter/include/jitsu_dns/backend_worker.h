#pragma once
// Runs backend calls (which may block: fork/exec, libvirt RPC, libxl) on ONE worker
// thread, one at a time, and resumes the calling coroutine on the DNS event loop with the
// outcome. The event loop never blocks on a backend.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "jitsu_dns/backend.h"

namespace jitsu::dns {

// What a backend call gave: a value, or the one-line error it threw.
template <class T>
struct backend_outcome {
    std::optional<T> value;
    std::string error;
    bool ok() const { return value.has_value(); }
};

struct no_value {};

class backend_worker {
    template <class F>
    using raw_t = std::invoke_result_t<F&, backend&>;

  public:
    // The outcome's value type: the call's result, no_value for void calls.
    template <class F>
    using wrapped_t = std::conditional_t<std::is_void_v<raw_t<F>>, no_value, raw_t<F>>;

    // `loop`: where results are delivered (the DNS event loop).
    backend_worker(boost::asio::any_io_executor loop, backend& be);
    ~backend_worker();  // waits for the call under way and the queued ones
    backend_worker(const backend_worker&) = delete;
    backend_worker& operator=(const backend_worker&) = delete;

    // Runs `call(backend)` on the worker thread. Exceptions become the outcome's error.
    template <class F>
    auto run(F call) -> boost::asio::awaitable<backend_outcome<wrapped_t<F>>>;

    // Calls queued or under way (status polls skip a round while the worker is busy).
    std::size_t pending() const { return pending_.load(); }
    // Finishes the queued calls and stops the thread; later run()s fail at once.
    void join();

  private:
    template <class F>
    static backend_outcome<wrapped_t<F>> invoke(F& call, backend& be);

    boost::asio::any_io_executor loop_;
    backend& backend_;
    boost::asio::thread_pool pool_{1};
    std::atomic<std::size_t> pending_{0};
    std::atomic<bool> joined_{false};
};

template <class F>
backend_outcome<backend_worker::wrapped_t<F>> backend_worker::invoke(F& call, backend& be) {
    backend_outcome<wrapped_t<F>> out;
    try {
        if constexpr (std::is_void_v<raw_t<F>>) {
            call(be);
            out.value.emplace();
        } else {
            out.value.emplace(call(be));
        }
    } catch (const std::exception& e) {
        out.error = e.what();
        if (out.error.empty()) out.error = "backend error";
    } catch (...) {
        out.error = "backend failed with an unknown exception";
    }
    return out;
}

template <class F>
auto backend_worker::run(F call) -> boost::asio::awaitable<backend_outcome<wrapped_t<F>>> {
    // Deliberately not a coroutine: GCC 12 mishandles non-trivial coroutine parameters
    // passed as temporaries in a co_await expression (double destruction). Callers pass
    // lambdas capturing only references and trivial values.
    using outcome = backend_outcome<wrapped_t<F>>;
    auto initiate = [this, call = std::move(call)](auto handler) mutable {
        if (joined_.load()) {
            outcome failed;
            failed.error = "backend worker stopped";
            boost::asio::post(loop_,
                              [handler = std::move(handler), failed = std::move(failed)]() mutable {
                                  handler(std::move(failed));
                              });
            return;
        }
        ++pending_;
        boost::asio::post(pool_, [this, call = std::move(call),
                                  handler = std::move(handler)]() mutable {
            outcome out = invoke(call, backend_);
            --pending_;
            // Back to the loop: the coroutine resumes where it awaited.
            boost::asio::post(loop_, [handler = std::move(handler),
                                      out = std::move(out)]() mutable { handler(std::move(out)); });
        });
    };
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(outcome)>(
        std::move(initiate), boost::asio::use_awaitable);
}

}  // namespace jitsu::dns
