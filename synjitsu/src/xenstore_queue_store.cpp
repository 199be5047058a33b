#include "synjitsu/xenstore_queue_store.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <limits>
#include <string>
#include <vector>

#include "common/format.h"

namespace jitsu::synjitsu {

namespace asio = xenstore::asio;
using xenstore::result;
using xenstore::tx_id;

namespace {

bool is_enoent(const std::error_code& ec) { return ec == std::errc::no_such_file_or_directory; }

}  // namespace

void xenstore_queue_store::add(const queued_syn& syn, std::uint32_t delta, done_fn done) {
    asio::co_spawn(client_.get_executor(), do_add(syn, delta, std::move(done)), asio::detached);
}

void xenstore_queue_store::remove(const four_tuple& tuple, done_fn done) {
    asio::co_spawn(client_.get_executor(), do_remove(tuple, std::move(done)), asio::detached);
}

asio::awaitable<void> xenstore_queue_store::do_add(queued_syn syn, std::uint32_t delta,
                                                   done_fn done) {
    store_outcome outcome = store_outcome::failed;
    try {
        const std::string root = ip_root(syn.tuple.local_ip);
        const std::string node = syn_node(syn.tuple);
        const std::string count_path = node + "/" + std::string(syn_key::count);
        queued_syn fresh = syn;
        fresh.count = delta;
        // Full paths and values, built once; the body may run several times.
        std::vector<std::pair<std::string, std::string>> fields;
        for (auto& [name, value] : encode_queued_syn(fresh)) {
            fields.emplace_back(node + "/" + std::string(name), std::move(value));
        }
        auto body = [&](tx_id tx) -> asio::awaitable<result<void>> {
            auto state = co_await client_.read(root, tx);
            if (state.ok() && *state == ip_managed_value) {
                outcome = store_outcome::managed;
                co_return result<void>{};
            }
            if (!state.ok() && !is_enoent(state.error())) co_return state.error();
            auto count = co_await client_.read(count_path, tx);
            if (count.ok()) {
                if (const auto n =
                        parse_decimal(*count, std::numeric_limits<std::uint32_t>::max())) {
                    const std::uint64_t sum = std::min<std::uint64_t>(
                        *n + delta, std::numeric_limits<std::uint32_t>::max());
                    outcome = store_outcome::updated;
                    co_return co_await client_.write(count_path, std::to_string(sum), tx);
                }
                // An unreadable count: rewrite the whole record below.
            } else if (!is_enoent(count.error())) {
                co_return count.error();
            }
            std::vector<xenstore::client::string_pair> writes;
            writes.reserve(fields.size());
            for (const auto& [path, value] : fields) writes.emplace_back(path, value);
            outcome = store_outcome::written;
            co_return co_await client_.write_many(writes, tx);
        };
        const auto r = co_await client_.transact(body, max_attempts);
        if (!r.ok()) {
            spdlog::warn("xenstore: queueing the SYN of {} failed: {}", syn.tuple,
                         r.error().message());
            outcome = store_outcome::failed;
        }
    } catch (const std::exception& e) {
        spdlog::error("xenstore: queueing the SYN of {}: {}", syn.tuple, e.what());
        outcome = store_outcome::failed;
    }
    done(outcome);
}

asio::awaitable<void> xenstore_queue_store::do_remove(four_tuple tuple, done_fn done) {
    store_outcome outcome = store_outcome::failed;
    try {
        const std::string root = ip_root(tuple.local_ip);
        const std::string node = connection_node(tuple);
        auto body = [&](tx_id tx) -> asio::awaitable<result<void>> {
            auto state = co_await client_.read(root, tx);
            if (state.ok() && *state == ip_managed_value) {
                outcome = store_outcome::managed;
                co_return result<void>{};
            }
            outcome = store_outcome::removed;
            co_return co_await client_.rm(node, tx);
        };
        const auto r = co_await client_.transact(body, max_attempts);
        if (!r.ok()) outcome = store_outcome::failed;
    } catch (const std::exception& e) {
        spdlog::error("xenstore: removing {}: {}", tuple, e.what());
        outcome = store_outcome::failed;
    }
    done(outcome);
}

}  // namespace jitsu::synjitsu
