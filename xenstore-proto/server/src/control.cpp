// XS_CONTROL (dom0 only): "check", "log on|off", "print <string>",
// "quota [set <name> <value> | <domid>]", "quota-soft [set <name> <value>]", "stats",
// "help".
// Unknown commands are EINVAL, as in xenstored.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <string>
#include <vector>

#include "handlers.h"

namespace jitsu::xenstored::detail {

namespace {

using args = std::vector<std::string_view>;

int control_check(request_context& r, const args& a) {
    if (!a.empty()) return EINVAL;
    if (auto problem = r.state.tree().check_consistency()) {
        spdlog::error("store check: {}", *problem);
        return EIO;
    }
    r.reply_ok();
    return 0;
}

int control_log(request_context& r, const args& a) {
    if (a.size() != 1) return EINVAL;
    if (a[0] == "on") {
        r.state.set_trace_requests(true);
        spdlog::set_level(spdlog::level::debug);
    } else if (a[0] == "off") {
        r.state.set_trace_requests(false);
        spdlog::set_level(spdlog::level::info);
    } else {
        return EINVAL;
    }
    r.reply_ok();
    return 0;
}

int control_print(request_context& r, const args& a) {
    if (a.size() != 1) return EINVAL;
    spdlog::info("control: {}", a[0]);
    r.reply_ok();
    return 0;
}

int quota_of_domain(request_context& r, std::string_view arg) {
    const long long id = parse_atoi(arg);
    if (id < 0 || id > 0xFFFF) return ENOENT;
    const auto domid = static_cast<std::uint32_t>(id);
    // Watches and transactions as the per-domain quotas count them (for dom0, the sum
    // over its connections), queued output (unprivileged domains only), outstanding
    // replies summed over the connections.
    const domain_usage* usage = r.state.usage(domid);
    std::size_t outstanding = 0;
    for (const session* s : r.state.sessions()) {
        if (s->domid() == domid && !s->closed()) outstanding += s->outstanding();
    }
    const store& tree = r.state.tree();
    const std::uint32_t nodes = tree.owned_nodes(domid);
    if (usage == nullptr && nodes == 0 && !r.state.domains().is_introduced(domid)) return ENOENT;
    std::size_t memory = 0;
    for (const auto& [path, n] : tree.nodes()) {
        if (n.owner() == domid) memory += path.size() + node_size(n);
    }
    std::string out = fmt::format("Domain {}:\n", domid);
    out += fmt::format("{:<16}: {:>8}\n", "nodes", nodes);
    out += fmt::format("{:<16}: {:>8}\n", "watches", usage ? usage->watches : 0);
    out += fmt::format("{:<16}: {:>8}\n", "transactions", usage ? usage->transactions : 0);
    out += fmt::format("{:<16}: {:>8}\n", "outstanding", outstanding);
    out += fmt::format("{:<16}: {:>8}\n", "memory", memory);
    out += fmt::format("{:<16}: {:>8}\n", "connections", usage ? usage->sessions : 0);
    out += fmt::format("{:<16}: {:>8}\n", "output", usage ? usage->output_bytes : 0);
    r.reply_parts({out, {"\0", 1}});
    return 0;
}

int control_quota(request_context& r, const args& a) {
    if (a.empty()) {
        const std::string out = describe_quotas(r.state.quotas());
        r.reply_parts({out, {"\0", 1}});
        return 0;
    }
    if (a[0] == "set") {
        if (a.size() != 3) return EINVAL;
        const long long v = parse_atoi(a[2]);
        if (v < 1 || v > 0xFFFFFFFFLL) return EINVAL;
        if (!set_quota(r.state.quotas(), a[1], static_cast<std::uint32_t>(v))) return EINVAL;
        r.reply_ok();
        return 0;
    }
    if (a.size() != 1) return EINVAL;
    return quota_of_domain(r, a[0]);
}

int control_quota_soft(request_context& r, const args& a) {
    // xenstored's only soft quota is "memory", which this server does not account.
    if (!a.empty()) return EINVAL;
    r.reply_parts({"Quota settings:\n", {"\0", 1}});
    return 0;
}

// Counters since start (not in xenstored): requests, errors, watch events, transactions,
// refusals at the per-domain quotas, slow readers dropped, persistence failures.
int control_stats(request_context& r, const args& a) {
    if (!a.empty()) return EINVAL;
    const core_stats& st = r.state.stats();
    std::string out;
    auto line = [&](std::string_view name, std::uint64_t v) {
        out += fmt::format("{:<27}: {:>10}\n", name, v);
    };
    line("requests", st.requests);
    line("errors", st.errors);
    line("watch-events", st.watch_events);
    line("transactions-committed", st.transactions_committed);
    line("transactions-conflicted", st.transactions_conflicted);
    line("watch-quota-refusals", st.watch_quota_refusals);
    line("transaction-quota-refusals", st.transaction_quota_refusals);
    line("output-overflows", st.output_overflows);
    line("persist-failures", st.persist_failures);
    if (const persistence* p = r.state.persisted_to()) {
        const auto c = p->stats();
        line("persist-records", c.records);
        line("persist-write-failures", c.write_failures);
        line("persist-compactions", c.compactions);
        line("persist-compaction-failures", c.compaction_failures);
    }
    r.reply_parts({out, {"\0", 1}});
    return 0;
}

int control_help(request_context& r, const args& a);

struct command {
    std::string_view name;
    int (*fn)(request_context&, const args&);
    std::string_view params;
};

constexpr std::array<command, 7> commands{{
    {"check", control_check, ""},
    {"log", control_log, "on|off"},
    {"print", control_print, "<string>"},
    {"quota", control_quota, "[set <name> <val>|<domid>]"},
    {"quota-soft", control_quota_soft, "[set <name> <val>]"},
    {"stats", control_stats, ""},
    {"help", control_help, ""},
}};

int control_help(request_context& r, const args& a) {
    if (!a.empty()) return EINVAL;
    std::string out;
    for (const auto& c : commands) out += fmt::format("{}\t{}\n", c.name, c.params);
    r.reply_parts({out, {"\0", 1}});
    return 0;
}

}  // namespace

int do_control(request_context& r) {
    xenstore::payload_reader reader(r.payload);
    auto name = reader.next_string();
    if (!name) return EINVAL;
    for (const auto& c : commands) {
        if (c.name != *name) continue;
        args a;
        while (auto s = reader.next_string()) a.push_back(*s);
        return c.fn(r, a);
    }
    return EINVAL;
}

}  // namespace jitsu::xenstored::detail
