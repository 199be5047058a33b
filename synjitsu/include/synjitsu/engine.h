#pragma once
// engine: synjitsu's behaviour, independent of where frames and time come from. Each
// frame is classified and acted on (ARP reply, NA, SYN queued, VM seen up); each tick
// sends the announcements due and prunes old SYNs. The live and offline runners feed
// it; tests drive it directly.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "common/booting_value.h"
#include "synjitsu/booting_table.h"
#include "synjitsu/classifier.h"
#include "synjitsu/frame_io.h"
#include "synjitsu/host_replay.h"
#include "synjitsu/metrics.h"
#include "synjitsu/queue_store.h"
#include "synjitsu/recent_syns.h"
#include "synjitsu/responder.h"
#include "synjitsu/syn_queue_writer.h"

namespace jitsu::synjitsu {

class engine {
  public:
    engine(frame_sink& sink, queue_store& store, metrics& m, writer_limits limits, isn_key key,
           std::size_t table_capacity = booting_table::default_capacity);
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    // One captured frame at `time_ns` (unix ns). Returns the classification's verdict.
    verdict on_frame(std::span<const std::uint8_t> frame, std::uint64_t time_ns);
    // Sends due announcements and prunes old SYNs.
    void on_tick(std::uint64_t now_ns);
    // Sends every announcement still scheduled (end of an offline capture).
    void flush_announcements();
    // The next time on_tick has announcements to send.
    std::optional<std::uint64_t> next_announcement() const;
    // Starts every booting VM's announcement schedule again (the link came back up).
    void restart_announcements(std::uint64_t now_ns);

    // Host replay (live runs): replay=host VMs are probed through `probes` and their
    // queue taken through `taker` (host_replay.h). Without it, a replay=host VM is served
    // like a bare-MAC one (offline runs), with a warning.
    void enable_host_replay(prober& probes, queue_taker& taker, host_replay_limits limits);
    host_replay* replay() { return host_replay_.get(); }

    // VM registry (from --booting and Xenstore). add_vm leaves a VM that is already
    // known with the same MAC and replay mode as it is (a managed VM stays managed; new
    // ports= hints are probed); returns false when the table is full.
    bool add_vm(const ip_address& ip, const booting_value& value, vm_source source,
                std::uint64_t now_ns);
    bool add_vm(const ip_address& ip, const mac_address& mac, vm_source source,
                std::uint64_t now_ns) {
        return add_vm(ip, booting_value{mac}, source, now_ns);
    }
    void remove_vm(const ip_address& ip);
    // The records already in the store for `ip` (left by an earlier run): counted against
    // the limits, pruned by age (syn_queue_writer::adopt); a replay=host VM probes their
    // ports too. Nothing happens for a VM not served (unknown, managed, up).
    void adopt_queued(const ip_address& ip, std::vector<queued_syn> records, std::uint64_t now_ns);
    // /ip/<ip> = managed, or the VM announced itself: stop acting for it. (A replay=host
    // VM announcing itself is served on: its kernel is up, its service maybe not.)
    void mark_managed(const ip_address& ip);
    void mark_up(const ip_address& ip);

    // Called whenever the announcement schedule changed (a runner re-arms its timer).
    void on_schedule_changed(std::function<void()> handler) {
        schedule_changed_ = std::move(handler);
    }

    booting_table& table() { return table_; }
    const booting_table& table() const { return table_; }
    syn_queue_writer& writer() { return writer_; }
    metrics& stats() { return metrics_; }

  private:
    void stop_serving(const ip_address& ip, vm_state state, bool hand_over_unstored = true);
    void hand_over(const queued_syn& syn);
    void queue_syn(std::size_t vm, const packet::parsed_frame& frame,
                   std::span<const std::uint8_t> bytes, std::uint64_t time_ns);
    void host_replay_finished(host_replay_result&& result);
    void send(std::span<const std::uint8_t> frame, std::uint64_t time_ns);
    void update_gauges();

    frame_sink& sink_;
    metrics& metrics_;
    booting_table table_;
    responder responder_;
    syn_queue_writer writer_;
    recent_syns recent_;  // SYNs that arrived just before their IP was registered
    std::unique_ptr<host_replay> host_replay_;
    bool warned_no_host_replay_ = false;
    std::function<void()> schedule_changed_;
};

}  // namespace jitsu::synjitsu
