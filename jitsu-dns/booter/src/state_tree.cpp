#include "jitsu_dns/state_tree.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <memory>
#include <set>

namespace jitsu::dns {

namespace asio = boost::asio;
using xenstore::batch_op;
using xenstore::result;
using xenstore::tx_id;

namespace {

// Xenstore payloads are at most 4096 bytes (path + value); longer config values (a long
// cmd=) are cut so the VM's transaction still fits, and the cut is logged.
constexpr std::size_t max_value_length = 2048;

bool path_safe(std::string_view s) {
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '@';
    });
}

// Paths and values owned together, so a transaction body can run again (EAGAIN).
struct op_batch {
    std::vector<std::string> strings;  // never reallocated after ops are built
    std::vector<batch_op> ops;
};

// The transaction body over a batch kept alive by the caller's frame. Its captures are
// trivial on purpose: GCC 12 destroys temporaries of a co_await expression twice, which is
// harmless only for trivially destructible ones.
xenstore::client::transaction_body batch_body(xenstore::client& xs, const op_batch* batch) {
    return [&xs, batch](tx_id tx) -> asio::awaitable<result<void>> {
        co_return co_await xs.submit(batch->ops, tx);
    };
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

std::string format_unix_time(std::chrono::system_clock::time_point t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    if (ms < 0) return "0.000";
    return fmt::format("{}.{:03}", ms / 1000, ms % 1000);
}

std::string format_seconds(std::chrono::milliseconds d) {
    const auto ms = d.count() < 0 ? 0 : d.count();
    std::string s = fmt::format("{}.{:03}", ms / 1000, ms % 1000);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

state_tree::state_tree(xenstore::client& xs, const std::vector<vm_spec>& catalog)
    : xs_(xs), catalog_(catalog), entries_(catalog.size()) {}

std::string state_tree::vm_path(std::size_t vm) const {
    return fmt::format("{}/{}", state_tree_root, catalog_.at(vm).uuid);
}

std::vector<std::pair<std::string, std::string>> state_tree::catalog_nodes(std::size_t vm) const {
    const vm_spec& spec = catalog_.at(vm);
    std::vector<std::pair<std::string, std::string>> nodes;
    std::map<std::string, std::size_t> seen;  // occurrences per key: config/<key>/<i>
    for (const auto& [key, value] : spec.raw) {
        if (!path_safe(key)) {
            spdlog::warn("{}: config key '{}' cannot be a Xenstore path, not written", spec.name,
                         key);
            continue;
        }
        std::string v = value;
        if (v.size() > max_value_length) {
            spdlog::warn("{}: config {} is {} bytes, written cut to {}", spec.name, key, v.size(),
                         max_value_length);
            v.resize(max_value_length);
        }
        const std::size_t i = seen[key]++;
        nodes.emplace_back(fmt::format("config/{}/{}", key, i), std::move(v));
    }
    for (std::size_t i = 0; i < spec.dns_names.size(); ++i) {
        nodes.emplace_back(fmt::format("dns/{}/name", i), spec.dns_names[i]);
        nodes.emplace_back(fmt::format("dns/{}/ttl", i), std::to_string(spec.ttl));
    }
    if (spec.ip) nodes.emplace_back("ip", spec.ip->to_string());
    if (spec.ip6) nodes.emplace_back("ip6", spec.ip6->to_string());
    nodes.emplace_back("mac", spec.mac.to_string());
    nodes.emplace_back("response_delay", format_seconds(spec.response_delay));
    nodes.emplace_back("stop_mode", std::string(stop_mode_name(spec.stop)));
    nodes.emplace_back("use_synjitsu", spec.use_synjitsu ? "true" : "false");
    if (spec.wait_for_key) nodes.emplace_back("wait_for_key", *spec.wait_for_key);
    if (spec.wait_for_port)
        nodes.emplace_back("wait_for_port", std::to_string(*spec.wait_for_port));
    return nodes;
}

asio::awaitable<result<void>> state_tree::publish(std::span<const vm_tree_state> initial) {
    // VMs of an earlier catalog: their subtree would show state nobody keeps current.
    auto listed = co_await xs_.directory(state_tree_root);
    std::set<std::string> present;  // subtrees to replace (rm of a missing one is ENOENT)
    if (listed.ok()) {
        present.insert(listed->begin(), listed->end());
        std::set<std::string_view> ours;
        for (const auto& spec : catalog_) ours.insert(spec.uuid);
        for (const auto& uuid : *listed) {
            if (ours.count(uuid) != 0) continue;
            spdlog::info("state tree: removing {}/{} (not in this catalog)", state_tree_root, uuid);
            const std::string path = fmt::format("{}/{}", state_tree_root, uuid);
            auto r = co_await xs_.rm(path);
            if (!r.ok()) co_return r;
        }
    } else if (listed.error() != std::errc::no_such_file_or_directory) {
        co_return listed.error();
    }

    for (std::size_t vm = 0; vm < catalog_.size(); ++vm) {
        entry& e = entries_[vm];
        const vm_tree_state& s = initial[vm];
        e.state = std::string(tree_state(s.phase));
        e.domid = s.domid ? std::optional<std::string>(std::to_string(*s.domid)) : std::nullopt;
        e.error = s.error;
        e.last_request = s.last_request
                             ? std::optional<std::string>(format_unix_time(*s.last_request))
                             : std::nullopt;
        e.dirty = false;

        auto batch = std::make_shared<op_batch>();
        const std::string base = vm_path(vm);
        auto nodes = catalog_nodes(vm);
        nodes.emplace_back("state", e.state);
        if (e.domid) nodes.emplace_back("domid", *e.domid);
        if (e.error) nodes.emplace_back("error", *e.error);
        if (e.last_request) nodes.emplace_back("last_request", *e.last_request);
        batch->strings.reserve(1 + 2 * nodes.size());
        batch->strings.push_back(base);
        if (present.count(catalog_[vm].uuid) != 0) {
            batch->ops.push_back(batch_op::rm(batch->strings.back()));
        }
        for (auto& [rel, value] : nodes) {
            batch->strings.push_back(base + "/" + rel);
            const std::string& path = batch->strings.back();
            batch->strings.push_back(std::move(value));
            batch->ops.push_back(batch_op::write(path, batch->strings.back()));
        }
        auto r = co_await xs_.transact(batch_body(xs_, batch.get()));
        if (!r.ok()) co_return r;
        ++writes_;
    }
    co_return result<void>{};
}

void state_tree::set_state(std::size_t vm, vm_phase phase, std::optional<std::uint32_t> domid,
                           const std::optional<std::string>& error) {
    entry& e = entries_.at(vm);
    e.state = std::string(tree_state(phase));
    e.domid = domid ? std::optional<std::string>(std::to_string(*domid)) : std::nullopt;
    e.error = error;
    e.dirty = true;
    kick();
}

void state_tree::set_last_request(std::size_t vm, std::chrono::system_clock::time_point t) {
    entry& e = entries_.at(vm);
    e.last_request = format_unix_time(t);
    e.dirty = true;
    kick();
}

void state_tree::kick() {
    if (flushing_) return;  // the running flush picks the change up in its next round
    flushing_ = true;
    asio::co_spawn(xs_.get_executor(), flush_loop(), asio::detached);
}

asio::awaitable<void> state_tree::flush_loop() {
    for (;;) {
        // Snapshot every dirty VM into one transaction; changes made while it is under
        // way mark their VM dirty again and go into the next round.
        auto batch = std::make_shared<op_batch>();
        std::vector<std::size_t> in_batch;
        std::size_t strings = 0;
        for (const entry& e : entries_) strings += e.dirty ? 10 : 0;
        batch->strings.reserve(strings);
        auto add = [&](std::string path, std::optional<std::string> value) {
            batch->strings.push_back(std::move(path));
            const std::string& p = batch->strings.back();
            if (value) {
                batch->strings.push_back(std::move(*value));
                batch->ops.push_back(batch_op::write(p, batch->strings.back()));
            } else {
                batch->ops.push_back(batch_op::rm(p));
            }
        };
        for (std::size_t vm = 0; vm < entries_.size(); ++vm) {
            entry& e = entries_[vm];
            if (!e.dirty) continue;
            e.dirty = false;
            in_batch.push_back(vm);
            const std::string base = vm_path(vm);
            // Writes before removals: the writes (re)create the VM's directory, so a
            // removal never fails for a missing parent.
            add(base + "/state", e.state);
            if (e.last_request) add(base + "/last_request", e.last_request);
            if (e.domid) add(base + "/domid", e.domid);
            if (e.error) add(base + "/error", e.error);
            if (!e.domid) add(base + "/domid", std::nullopt);
            if (!e.error) add(base + "/error", std::nullopt);
        }
        if (in_batch.empty()) break;
        auto r = co_await xs_.transact(batch_body(xs_, batch.get()));
        if (r.ok()) {
            ++writes_;
            continue;
        }
        ++write_failures_;
        spdlog::warn("state tree: writing {} VM(s) failed: {}{}", in_batch.size(),
                     r.error().message(), closed_ ? "" : " (retrying in 1 s)");
        if (closed_) break;
        for (std::size_t vm : in_batch) entries_[vm].dirty = true;
        co_await sleep_for(std::chrono::milliseconds(1000));
        if (closed_) break;
    }
    flushing_ = false;
}

asio::awaitable<void> state_tree::drain(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (flushing_ && std::chrono::steady_clock::now() < deadline) {
        co_await sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace jitsu::dns
