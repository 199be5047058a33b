#include "synjitsu/xenstore_state.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <set>
#include <vector>

#include "common/booting_value.h"
#include "common/format.h"
#include "common/syn_queue.h"
#include "syn_take/take.h"

namespace jitsu::synjitsu {

namespace asio = xenstore::asio;
using xenstore::result;

namespace {
const std::string booting_token = "synjitsu-booting";
const std::string ip_token = "synjitsu-ip";
}  // namespace

xenstore_state::xenstore_state(xenstore::client& client, engine& eng, clock_fn now)
    : client_(client), engine_(eng), now_(std::move(now)) {}

asio::awaitable<result<void>> xenstore_state::start() {
    auto r = co_await client_.watch(
        std::string(booting_dir), booting_token,
        [this](std::string_view, std::string_view) { request_booting_scan(); });
    if (!r.ok()) co_return r;
    co_return co_await client_.watch(
        std::string(ip_dir), ip_token, [this](std::string_view path, std::string_view) {
            // /ip (initial event): re-check every VM; /ip/<ip>: that VM; deeper paths are
            // the queue's own records.
            if (path == ip_dir) {
                ++running_;
                asio::co_spawn(
                    client_.get_executor(),
                    [this]() -> asio::awaitable<void> {
                        co_await check_all_ips();
                        --running_;
                    },
                    asio::detached);
                return;
            }
            if (path.size() <= ip_dir.size() + 1 || path.substr(0, ip_dir.size() + 1) != "/ip/") {
                return;
            }
            const std::string_view rest = path.substr(ip_dir.size() + 1);
            if (rest.find('/') != std::string_view::npos) return;
            request_ip_check(std::string(rest));
        });
}

asio::awaitable<void> xenstore_state::sync() {
    co_await scan_booting();
    co_await check_all_ips();
}

void xenstore_state::request_booting_scan() {
    if (scanning_) {
        rescan_ = true;
        return;
    }
    scanning_ = true;
    ++running_;
    asio::co_spawn(
        client_.get_executor(),
        [this]() -> asio::awaitable<void> {
            do {
                rescan_ = false;
                co_await scan_booting();
            } while (rescan_);
            scanning_ = false;
            --running_;
        },
        asio::detached);
}

void xenstore_state::request_ip_check(std::string name) {
    const auto ip = ip_address::from_xenstore(name);
    if (!ip) return;  // not one of ours (or not an address): nothing to do
    if (engine_.table().lookup(*ip) == nullptr) return;
    ++running_;
    asio::co_spawn(
        client_.get_executor(),
        [this, ip = *ip]() -> asio::awaitable<void> {
            co_await check_ip(ip);
            --running_;
        },
        asio::detached);
}

asio::awaitable<void> xenstore_state::scan_booting() {
    try {
        auto names = co_await client_.directory(booting_dir);
        std::vector<std::string> children;
        if (names.ok()) {
            children = std::move(*names);
        } else if (names.error() != std::errc::no_such_file_or_directory) {
            spdlog::warn("xenstore: reading {} failed: {}", booting_dir, names.error().message());
            co_return;
        }
        std::vector<std::string> paths;
        std::vector<std::string_view> views;
        for (const auto& n : children) paths.push_back(std::string(booting_dir) + "/" + n);
        for (const auto& p : paths) views.emplace_back(p);
        auto values = co_await client_.read_many(views);
        if (!values.ok()) {
            spdlog::warn("xenstore: reading {} failed: {}", booting_dir, values.error().message());
            co_return;
        }
        std::set<ip_address> present;
        std::vector<ip_address> added;
        for (std::size_t i = 0; i < children.size(); ++i) {
            const auto ip = ip_address::from_xenstore(children[i]);
            if (!ip) {
                ++engine_.stats().bad_xenstore_values;
                spdlog::warn("xenstore: {}: not an address in Xenstore form, ignored", paths[i]);
                continue;
            }
            const auto& text = (*values)[i];
            if (!text.ok()) continue;  // removed between directory and read
            auto parsed = parse_booting_value(*text);
            if (auto* bad = std::get_if<booting_value_error>(&parsed)) {
                ++engine_.stats().bad_xenstore_values;
                spdlog::warn("xenstore: {} = '{}': {}, ignored", paths[i],
                             text->substr(0, max_booting_value_length), bad->reason);
                continue;
            }
            const auto& value = std::get<booting_value>(parsed);
            present.insert(*ip);
            const vm_entry* known = engine_.table().lookup(*ip);
            const bool is_new = known == nullptr || known->mac != value.mac;
            // Known ones too: a changed replay mode or new ports= hints take effect.
            if (engine_.add_vm(*ip, value, vm_source::xenstore, now_()) && is_new) {
                added.push_back(*ip);
            }
        }
        // Xenstore entries that went away (command-line ones stay).
        std::vector<ip_address> gone;
        for (const auto& vm : engine_.table()) {
            if (vm.source == vm_source::xenstore && present.count(vm.ip) == 0)
                gone.push_back(vm.ip);
        }
        for (const auto& ip : gone) engine_.remove_vm(ip);
        for (const auto& ip : added) co_await check_ip(ip);
    } catch (const std::exception& e) {
        spdlog::error("xenstore: scanning {}: {}", booting_dir, e.what());
    }
}

asio::awaitable<void> xenstore_state::check_ip(const ip_address& ip) {
    try {
        auto state = co_await client_.read(ip_root(ip));
        if (state.ok() && *state == ip_managed_value) {
            engine_.mark_managed(ip);
            co_return;
        }
        // Records already queued (by an earlier run, before a restart or a kill): counted
        // against the limits and pruned by age; for host replay, their ports are probed.
        auto listing = co_await list_queued_syns(client_, ip);
        if (!listing.ok()) {
            spdlog::warn("xenstore: reading the queue of {} failed: {}", ip,
                         listing.error().message());
            co_return;
        }
        for (const auto& m : listing->malformed) {
            spdlog::warn("xenstore: {}: {} (left for the VM's take, which removes it)", m.path,
                         m.reason);
        }
        engine_.adopt_queued(ip, std::move(listing->syns), now_());
    } catch (const std::exception& e) {
        spdlog::error("xenstore: reading {}: {}", ip_root(ip), e.what());
    }
}

asio::awaitable<void> xenstore_state::check_all_ips() {
    std::vector<ip_address> ips;
    for (const auto& vm : engine_.table()) {
        if (vm.active()) ips.push_back(vm.ip);
    }
    for (const auto& ip : ips) co_await check_ip(ip);
}

}  // namespace jitsu::synjitsu
