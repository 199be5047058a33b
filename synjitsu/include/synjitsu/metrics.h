#pragma once
// Counters and gauges of one synjitsu process. Plain integers touched only from the
// event loop's thread; printed as text (SIGUSR1, exit) and as Prometheus exposition
// text (--metrics-file, rewritten atomically every second).

#include <cstdint>
#include <string>
#include <vector>

namespace jitsu::synjitsu {

struct metrics {
    // Frames.
    std::uint64_t frames_received = 0;      // frames handed to the classifier
    std::uint64_t frames_ignored = 0;       // classified as nothing to do
    std::uint64_t parse_failures = 0;       // malformed frames, counted and dropped
    std::uint64_t ignored_not_booting = 0;  // ARP/NS/SYN for an IP synjitsu does not serve
    std::uint64_t ignored_inactive = 0;     // ... for a VM already managed or up
    std::uint64_t ignored_own_probes = 0;   // SYNs of synjitsu's own host-replay probes
    std::uint64_t ignored_vlan_tagged = 0;  // 802.1Q / QinQ tagged frames (untagged only)
    // ARP / NDP duty.
    std::uint64_t arp_requests_answered = 0;
    std::uint64_t neighbor_solicitations_answered = 0;
    std::uint64_t announcements_sent = 0;  // gratuitous ARPs + unsolicited NAs
    std::uint64_t send_errors = 0;         // frames the interface refused
    // SYN queue.
    std::uint64_t syns_received = 0;      // SYNs for a booting VM
    std::uint64_t syns_recovered = 0;     // arrived just before their IP was registered
    std::uint64_t syns_handed_over = 0;   // 4-tuples sent to the VM: it took over before the write
    std::uint64_t syns_queued = 0;        // new 4-tuples accepted
    std::uint64_t syns_deduplicated = 0;  // retransmissions of a queued 4-tuple
    std::uint64_t syns_dropped_ip_limit = 0;       // the VM's queue full (--queue-limit): drop-new
    std::uint64_t syns_evicted = 0;                // fair share: a heavy source's 4-tuple made room
    std::uint64_t syns_dropped_global_limit = 0;   // beyond --global-limit
    std::uint64_t syns_dropped_backlog = 0;        // Xenstore write queue full
    std::uint64_t syns_dropped_managed = 0;        // the VM took over before the write
    std::uint64_t syns_dropped_inactive = 0;       // VM stopped being served before the write
    std::uint64_t syns_pruned = 0;                 // 4-tuples older than --max-age
    std::uint64_t records_adopted = 0;             // records of an earlier run found, counted
    std::uint64_t records_removed_over_limit = 0;  // ... beyond the limits: removed
    std::uint64_t xenstore_records_written = 0;    // new syn/ nodes committed
    std::uint64_t xenstore_counts_updated = 0;     // count rewritten for a retransmission
    std::uint64_t xenstore_records_removed = 0;    // pruned nodes removed
    std::uint64_t xenstore_errors = 0;             // transactions that failed for good
    // VMs.
    std::uint64_t vms_added = 0;
    std::uint64_t vms_removed = 0;
    std::uint64_t vms_managed = 0;          // /ip/<ip> = managed seen
    std::uint64_t vms_announced_up = 0;     // the VM's own ARP / NA seen
    std::uint64_t bad_xenstore_values = 0;  // unparsable booting node names / MACs
    std::uint64_t table_full = 0;           // VMs refused: booting table full
    // Host replay (replay=host VMs, host_replay.h).
    std::uint64_t probes_sent = 0;                // probe connections started (or tried)
    std::uint64_t probes_accepted = 0;            // ... that completed the handshake
    std::uint64_t probes_refused = 0;             // ... answered by RST (kernel up, not listening)
    std::uint64_t probes_timed_out = 0;           // ... abandoned after --probe-timeout
    std::uint64_t probes_failed = 0;              // ... any other error (no route, unreachable)
    std::uint64_t host_replays = 0;               // queues taken and replayed by synjitsu
    std::uint64_t host_replay_syns_injected = 0;  // taken SYNs sent to their VM
    std::uint64_t host_replay_give_ups = 0;       // VMs given up after --probe-give-up
    std::uint64_t host_replay_syns_dropped = 0;   // taken SYNs dropped by a give-up
    std::uint64_t host_replay_cancelled = 0;      // entry removed / managed by another first
    std::uint64_t host_replay_take_errors = 0;    // takes that failed (retried)
    // Capture (live): kernel drops reported by libpcap.
    std::uint64_t pcap_kernel_drops = 0;
    std::uint64_t pcap_interface_drops = 0;
    // Gauges.
    std::uint64_t booting_vms = 0;
    std::uint64_t queued_tuples = 0;
    std::uint64_t pending_writes = 0;
    std::uint64_t link_up = 0;
    std::uint64_t host_replay_vms = 0;   // VMs being probed
    std::uint64_t probes_in_flight = 0;  // probe connections open now
};

struct metric_row {
    const char* name;  // without the synjitsu_ prefix
    const char* help;
    bool gauge;
    std::uint64_t value;
};

std::vector<metric_row> metric_rows(const metrics& m);

// "name value" lines, for logs and SIGUSR1.
std::string format_metrics_text(const metrics& m);
// Prometheus text exposition format 0.0.4 (# HELP / # TYPE, counters suffixed _total).
std::string format_metrics_prometheus(const metrics& m);
// Writes `text` to path.tmp and renames it over `path`; false on any error.
bool write_file_atomically(const std::string& path, const std::string& text);

}  // namespace jitsu::synjitsu
