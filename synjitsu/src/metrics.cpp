#include "synjitsu/metrics.h"

#include <cstdio>
#include <fstream>

namespace jitsu::synjitsu {

std::vector<metric_row> metric_rows(const metrics& m) {
    return {
        {"frames_received", "Frames handed to the classifier", false, m.frames_received},
        {"frames_ignored", "Frames with nothing to do", false, m.frames_ignored},
        {"parse_failures", "Malformed frames, dropped", false, m.parse_failures},
        {"ignored_not_booting", "ARP/NS/SYN for an IP not served", false, m.ignored_not_booting},
        {"ignored_inactive", "ARP/NS/SYN for a VM already managed or up", false,
         m.ignored_inactive},
        {"ignored_own_probes", "SYNs of synjitsu's own host-replay probes, not queued", false,
         m.ignored_own_probes},
        {"ignored_vlan_tagged", "802.1Q / QinQ tagged frames, ignored (untagged served only)",
         false, m.ignored_vlan_tagged},
        {"arp_requests_answered", "ARP requests answered", false, m.arp_requests_answered},
        {"neighbor_solicitations_answered", "Neighbour Solicitations answered", false,
         m.neighbor_solicitations_answered},
        {"announcements_sent", "Gratuitous ARPs and unsolicited NAs sent", false,
         m.announcements_sent},
        {"send_errors", "Frames the interface refused", false, m.send_errors},
        {"syns_received", "SYNs for a booting VM", false, m.syns_received},
        {"syns_recovered", "SYNs that arrived just before their IP was registered", false,
         m.syns_recovered},
        {"syns_handed_over", "SYNs sent to a VM that took over before they were stored", false,
         m.syns_handed_over},
        {"syns_queued", "New 4-tuples queued", false, m.syns_queued},
        {"syns_deduplicated", "Retransmitted SYNs of a queued 4-tuple", false, m.syns_deduplicated},
        {"syns_dropped_ip_limit", "SYNs dropped: the VM's queue was full (--queue-limit)", false,
         m.syns_dropped_ip_limit},
        {"syns_evicted",
         "Queued 4-tuples of the most-represented source dropped to queue another source's", false,
         m.syns_evicted},
        {"syns_dropped_global_limit", "SYNs dropped by the global limit", false,
         m.syns_dropped_global_limit},
        {"syns_dropped_backlog", "SYNs dropped: Xenstore write queue full", false,
         m.syns_dropped_backlog},
        {"syns_dropped_managed", "SYNs not written: the VM had taken over", false,
         m.syns_dropped_managed},
        {"syns_dropped_inactive", "SYNs not written: VM no longer served", false,
         m.syns_dropped_inactive},
        {"syns_pruned", "4-tuples pruned by age", false, m.syns_pruned},
        {"records_adopted", "SYN records of an earlier run found in Xenstore and counted", false,
         m.records_adopted},
        {"records_removed_over_limit",
         "SYN records of an earlier run beyond the queue limits, removed", false,
         m.records_removed_over_limit},
        {"xenstore_records_written", "SYN records created in Xenstore", false,
         m.xenstore_records_written},
        {"xenstore_counts_updated", "SYN record counts updated", false, m.xenstore_counts_updated},
        {"xenstore_records_removed", "Pruned SYN records removed", false,
         m.xenstore_records_removed},
        {"xenstore_errors", "Xenstore transactions failed", false, m.xenstore_errors},
        {"vms_added", "VMs registered as booting", false, m.vms_added},
        {"vms_removed", "VMs whose booting entry went away", false, m.vms_removed},
        {"vms_managed", "VMs whose stack took over (/ip/<ip> = managed)", false, m.vms_managed},
        {"vms_announced_up", "VMs seen announcing themselves", false, m.vms_announced_up},
        {"bad_xenstore_values", "Unparsable booting entries ignored", false, m.bad_xenstore_values},
        {"table_full", "VMs refused: booting table full", false, m.table_full},
        {"probes_sent", "Host-replay probe connections started", false, m.probes_sent},
        {"probes_accepted", "Host-replay probes that completed the handshake", false,
         m.probes_accepted},
        {"probes_refused", "Host-replay probes refused (the VM's kernel up, not listening)", false,
         m.probes_refused},
        {"probes_timed_out", "Host-replay probes abandoned after the attempt timeout", false,
         m.probes_timed_out},
        {"probes_failed", "Host-replay probes failed otherwise (no route, unreachable)", false,
         m.probes_failed},
        {"host_replays", "Queues taken and replayed to their VM by synjitsu", false,
         m.host_replays},
        {"host_replay_syns_injected", "Taken SYNs sent to their VM by synjitsu", false,
         m.host_replay_syns_injected},
        {"host_replay_give_ups", "VMs whose service did not accept within the bound", false,
         m.host_replay_give_ups},
        {"host_replay_syns_dropped", "Taken SYNs dropped by a give-up", false,
         m.host_replay_syns_dropped},
        {"host_replay_cancelled", "Host replays cancelled (entry removed, managed by another)",
         false, m.host_replay_cancelled},
        {"host_replay_take_errors", "Host-replay takes that failed (retried)", false,
         m.host_replay_take_errors},
        {"pcap_kernel_drops", "Frames dropped by the kernel capture buffer", false,
         m.pcap_kernel_drops},
        {"pcap_interface_drops", "Frames dropped by the interface", false, m.pcap_interface_drops},
        {"booting_vms", "VMs served now", true, m.booting_vms},
        {"queued_tuples", "4-tuples held in memory", true, m.queued_tuples},
        {"pending_writes", "Xenstore writes waiting or in flight", true, m.pending_writes},
        {"link_up", "1 if the interface is up", true, m.link_up},
        {"host_replay_vms", "VMs being probed for host replay", true, m.host_replay_vms},
        {"probes_in_flight", "Host-replay probe connections open", true, m.probes_in_flight},
    };
}

std::string format_metrics_text(const metrics& m) {
    std::string out;
    for (const auto& row : metric_rows(m)) {
        out += row.name;
        out += ' ';
        out += std::to_string(row.value);
        out += '\n';
    }
    return out;
}

std::string format_metrics_prometheus(const metrics& m) {
    std::string out;
    for (const auto& row : metric_rows(m)) {
        std::string name = std::string("synjitsu_") + row.name + (row.gauge ? "" : "_total");
        out += "# HELP " + name + ' ' + row.help + '\n';
        out += "# TYPE " + name + (row.gauge ? " gauge\n" : " counter\n");
        out += name + ' ' + std::to_string(row.value) + '\n';
    }
    return out;
}

bool write_file_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) return false;
        f << text;
        f.flush();
        if (!f) return false;
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace jitsu::synjitsu
