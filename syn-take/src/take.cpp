#include "syn_take/take.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace jitsu {

namespace xs = jitsu::xenstore;

namespace {

constexpr std::array<std::string_view, 10> record_fields = {
    syn_key::tx_wnd, syn_key::sequence, syn_key::options,
    syn_key::tx_isn, syn_key::rx_wnd,   syn_key::rx_wnd_scaleoffer,
    syn_key::frame,  syn_key::mac,      syn_key::time,
    syn_key::count};

constexpr std::string_view no_syn_record = "no syn record";

bool is_enoent(const std::error_code& ec) { return ec == std::errc::no_such_file_or_directory; }

bool is_size_refusal(const std::error_code& ec) {
    return ec == std::errc::no_space_on_device || ec == std::errc::argument_list_too_long;
}

// What one pass over the tree found.
struct walk {
    std::vector<queued_syn> syns;
    std::vector<malformed_record> malformed;
    // Subtrees to remove: every /ip/<ip>/<child>.
    std::vector<std::string> remove;
};

// Children of `path`; a missing node has none.
xs::asio::awaitable<xs::result<std::vector<std::string>>> children(xs::client& c,
                                                                   const std::string& path,
                                                                   xs::tx_id tx) {
    auto r = co_await c.directory(path, tx);
    if (!r && is_enoent(r.error())) co_return std::vector<std::string>{};
    co_return r;
}

// Reads and decodes the record of one connection.
xs::asio::awaitable<xs::result<void>> read_record(xs::client& c, const four_tuple& tuple,
                                                  xs::tx_id tx, walk& out) {
    const std::string node = syn_node(tuple);
    std::vector<std::string> paths;
    paths.reserve(record_fields.size());
    for (auto f : record_fields) paths.push_back(node + "/" + std::string(f));
    std::vector<std::string_view> views(paths.begin(), paths.end());
    auto values = co_await c.read_many(views, tx);
    if (!values) co_return values.error();

    std::vector<syn_field_view> fields;
    fields.reserve(record_fields.size());
    for (std::size_t i = 0; i < record_fields.size(); ++i) {
        const auto& v = (*values)[i];
        if (v) {
            fields.emplace_back(record_fields[i], *v);
        } else if (!is_enoent(v.error())) {
            co_return v.error();
        }
    }
    if (fields.empty()) {
        out.malformed.push_back({connection_node(tuple), std::string(no_syn_record)});
        co_return xs::result<void>{};
    }
    auto decoded = decode_queued_syn(tuple, fields);
    if (auto* e = std::get_if<syn_decode_error>(&decoded)) {
        out.malformed.push_back({connection_node(tuple), e->to_string()});
    } else {
        out.syns.push_back(std::move(std::get<queued_syn>(decoded)));
    }
    co_return xs::result<void>{};
}

// Walks /ip/<ip>/<port>/<client-ip>/<client-port>, reading every record.
xs::asio::awaitable<xs::result<void>> walk_ip(xs::client& c, const ip_address& ip, xs::tx_id tx,
                                              walk& out) {
    const std::string root = ip_root(ip);
    auto ports = co_await children(c, root, tx);
    if (!ports) co_return ports.error();
    for (const auto& port_name : *ports) {
        const std::string port_path = root + "/" + port_name;
        out.remove.push_back(port_path);
        const auto port = parse_decimal(port_name, 65535);
        if (!port || *port == 0) {
            out.malformed.push_back({port_path, "not a port number"});
            continue;
        }
        auto clients = co_await children(c, port_path, tx);
        if (!clients) co_return clients.error();
        for (const auto& client_name : *clients) {
            const std::string client_path = port_path + "/" + client_name;
            const auto client_ip = ip_address::from_xenstore(client_name);
            if (!client_ip) {
                out.malformed.push_back({client_path, "not an IP address in Xenstore form"});
                continue;
            }
            auto client_ports = co_await children(c, client_path, tx);
            if (!client_ports) co_return client_ports.error();
            for (const auto& client_port_name : *client_ports) {
                const auto client_port = parse_decimal(client_port_name, 65535);
                if (!client_port || *client_port == 0) {
                    out.malformed.push_back(
                        {client_path + "/" + client_port_name, "not a port number"});
                    continue;
                }
                const four_tuple tuple{ip, static_cast<std::uint16_t>(*port), *client_ip,
                                       static_cast<std::uint16_t>(*client_port)};
                auto r = co_await read_record(c, tuple, tx, out);
                if (!r) co_return r.error();
            }
        }
    }
    co_return xs::result<void>{};
}

xs::asio::awaitable<xs::result<void>> mark_managed(xs::client& c, std::span<const ip_address> ips,
                                                   xs::tx_id tx) {
    std::vector<std::string> roots;
    for (const auto& ip : ips) roots.push_back(ip_root(ip));
    std::vector<xs::batch_op> ops;
    for (const auto& r : roots) ops.push_back(xs::batch_op::write(r, ip_managed_value));
    co_return co_await c.submit(ops, tx);
}

xs::asio::awaitable<xs::result<void>> remove_all(xs::client& c, const walk& w, xs::tx_id tx) {
    std::vector<xs::batch_op> ops;
    ops.reserve(w.remove.size());
    for (const auto& p : w.remove) ops.push_back(xs::batch_op::rm(p));
    if (ops.empty()) co_return xs::result<void>{};
    co_return co_await c.submit(ops, tx);
}

void fill(take_report& report, walk&& w) {
    report.syns = std::move(w.syns);
    report.malformed = std::move(w.malformed);
    sort_for_replay(report.syns);
}

// The fallback (see take.h): mark managed first in a small transaction, so synjitsu
// stops adding, then drain what is queued, which can no longer grow — in a transaction
// too, unless the server refuses that one for its size as well.
xs::asio::awaitable<xs::result<void>> take_two_step(xs::client& c, std::span<const ip_address> ips,
                                                    const take_options& options,
                                                    take_report& report) {
    constexpr int attempts_per_step = 16;
    int attempts = 0;
    auto marked = co_await c.transact(
        [&](xs::tx_id tx) -> xs::asio::awaitable<xs::result<void>> {
            ++report.attempts;
            co_return co_await mark_managed(c, ips, tx);
        },
        attempts_per_step);
    if (!marked) co_return marked.error();
    walk w;
    auto drain = [&](xs::tx_id tx) -> xs::asio::awaitable<xs::result<void>> {
        ++report.attempts;
        ++attempts;
        w = walk{};
        for (const auto& ip : ips) {
            auto r = co_await walk_ip(c, ip, tx, w);
            if (!r) co_return r;
        }
        if (options.after_read) co_await options.after_read(-attempts);
        co_return co_await remove_all(c, w, tx);
    };
    auto drained = co_await c.transact(drain, attempts_per_step);
    if (!drained && is_size_refusal(drained.error())) drained = co_await drain(xs::tx_id{});
    if (!drained) co_return drained.error();
    report.two_step = true;
    fill(report, std::move(w));
    co_return xs::result<void>{};
}

}  // namespace

void sort_for_replay(std::vector<queued_syn>& syns) {
    std::stable_sort(syns.begin(), syns.end(), [](const queued_syn& a, const queued_syn& b) {
        if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
        return a.tuple < b.tuple;
    });
}

xs::asio::awaitable<xs::result<queue_listing>> list_queued_syns(xs::client& client,
                                                                const ip_address& ip) {
    walk w;
    auto r = co_await walk_ip(client, ip, xs::tx_id{}, w);
    if (!r) co_return r.error();
    queue_listing listing;
    listing.syns = std::move(w.syns);
    sort_for_replay(listing.syns);
    for (auto& m : w.malformed) {
        // Outside a transaction, a connection node with no syn/ left was most likely
        // taken between the walk and the read: gone, not malformed.
        if (m.reason != no_syn_record) listing.malformed.push_back(std::move(m));
    }
    co_return listing;
}

xs::asio::awaitable<xs::result<take_report>> take_queued_syns(xs::client& client,
                                                              std::span<const ip_address> ips,
                                                              take_options options) {
    const auto start = std::chrono::steady_clock::now();
    take_report report;
    walk taken;
    int attempts = 0;
    auto committed = co_await client.transact(
        [&](xs::tx_id tx) -> xs::asio::awaitable<xs::result<void>> {
            ++attempts;
            taken = walk{};
            for (const auto& ip : ips) {
                auto r = co_await walk_ip(client, ip, tx, taken);
                if (!r) co_return r;
            }
            if (options.after_read) co_await options.after_read(attempts);
            auto removed = co_await remove_all(client, taken, tx);
            if (!removed) co_return removed;
            co_return co_await mark_managed(client, ips, tx);
        },
        options.max_attempts);
    report.attempts = attempts;
    if (committed) {
        fill(report, std::move(taken));
    } else if (is_size_refusal(committed.error()) ||
               committed.error() == std::errc::resource_unavailable_try_again) {
        auto r = co_await take_two_step(client, ips, options, report);
        if (!r) co_return r.error();
    } else {
        co_return committed.error();
    }
    report.elapsed = std::chrono::steady_clock::now() - start;
    co_return report;
}

}  // namespace jitsu
