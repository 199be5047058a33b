#include "xenstored/quota.h"

#include <fmt/format.h>

#include <array>

#include "xenstore/wire.h"

namespace jitsu::xenstored {

namespace {

constexpr std::array<quota_field, 10> fields{{
    {"nodes", &quota_config::nodes_per_domain, "Nodes per domain"},
    {"watches", &quota_config::watches, "Watches per domain (per dom0 connection)"},
    {"transactions", &quota_config::transactions, "Transactions per domain (per dom0 connection)"},
    {"outstanding", &quota_config::outstanding, "Outstanding requests per connection"},
    {"transaction-nodes", &quota_config::transaction_nodes,
     "Max. number of accessed node per transaction"},
    {"node-size", &quota_config::node_size, "Max. size of a node"},
    {"path-max", &quota_config::path_max, "Max. length of a node path"},
    {"permissions", &quota_config::perms_per_node, "Max. number of permissions per node"},
    {"output-limit", &quota_config::output_limit,
     "Max. bytes queued for a domain (a dom0 connection) before dropping"},
    {"connections", &quota_config::connections_per_domain,
     "Connections open at once per unprivileged domain"},
}};

}  // namespace

std::span<const quota_field> quota_fields() { return fields; }

bool set_quota(quota_config& q, std::string_view name, std::uint32_t value) {
    if (value == 0) return false;
    for (const auto& f : fields) {
        if (f.name == name) {
            if (f.member == &quota_config::path_max && value > xenstore::rel_path_max) {
                value = static_cast<std::uint32_t>(xenstore::rel_path_max);
            }
            q.*f.member = value;
            return true;
        }
    }
    return false;
}

std::string describe_quotas(const quota_config& q) {
    std::string out = "Quota settings:\n";
    for (const auto& f : fields) {
        out += fmt::format("{:<17}: {:>8} {}\n", f.name, q.*f.member, f.description);
    }
    return out;
}

}  // namespace jitsu::xenstored
