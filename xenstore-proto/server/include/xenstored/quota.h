// Quotas: xenstored 4.17's defaults, settable by flag and by XS_CONTROL "quota set".
//
// Node-count, node-size, permissions-per-node and transaction-nodes quotas bind
// unprivileged domains only (dom0 is exempt, as in xenstored). Watches, transactions and
// output-limit bind an unprivileged domain's total over all its connections (as
// xenstored counts them per domain: opening more connections gives no more), and each
// dom0 connection on its own. Outstanding is per connection (back-pressure, not memory).
// Limits are "at most N" (xenstored 4.17 lets a domain open one
// transaction and one watch more than its quota; later versions fixed that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace jitsu::xenstored {

struct quota_config {
    // Nodes an unprivileged domain may own; creating more fails with ENOSPC.
    std::uint32_t nodes_per_domain = 1000;
    // Size of a node (24-byte header + 8 per permission + value + children list) an
    // unprivileged domain may write: ENOSPC once it reaches this.
    std::uint32_t node_size = 2048;
    // Watches per unprivileged domain (per connection for dom0); one more: E2BIG.
    std::uint32_t watches = 128;
    // Open transactions per unprivileged domain (per connection for dom0); one more
    // fails with ENOSPC.
    std::uint32_t transactions = 10;
    // Replies queued but not yet read per connection: at this many the server stops
    // reading requests from that connection until the client reads (back-pressure).
    std::uint32_t outstanding = 20;
    // Nodes one transaction of an unprivileged domain may touch; ENOSPC beyond.
    std::uint32_t transaction_nodes = 1024;
    // Permission entries an unprivileged domain may set on a node; ENOSPC beyond.
    std::uint32_t perms_per_node = 5;
    // Characters of a path beyond "/local/domain/<domid>/"; longer paths are EINVAL.
    // Capped at XENSTORE_REL_PATH_MAX (2048).
    std::uint32_t path_max = 2048;
    // Bytes of replies and watch events queued for an unprivileged domain's connections
    // together (for one dom0 connection): beyond it, the connection with the most queued
    // (a client that does not read) is disconnected.
    std::uint32_t output_limit = 4 * 1024 * 1024;
    // Connections open at once from one unprivileged domain (over all its sockets): at
    // this many the server stops accepting on that domain's sockets until one closes
    // (the kernel's backlog holds the rest). dom0's socket is never capped.
    std::uint32_t connections_per_domain = 64;
};

// One settable quota, for XS_CONTROL "quota" and the --quota flag.
struct quota_field {
    std::string_view name;
    std::uint32_t quota_config::*member;
    std::string_view description;
};
std::span<const quota_field> quota_fields();

// Sets a quota by name; false if the name is unknown or the value is 0.
bool set_quota(quota_config& q, std::string_view name, std::uint32_t value);

// XS_CONTROL "quota" listing, in xenstored's layout ("%-17s: %8d %s\n" per line).
std::string describe_quotas(const quota_config& q);

}  // namespace jitsu::xenstored
