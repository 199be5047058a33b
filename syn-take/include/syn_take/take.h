#pragma once
// The take-over of a VM's SYN queue (common/syn_queue.h has the record): what a booting
// VM's stack calls once it listens (guest/, jitsu-netvm), and what synjitsu calls itself
// for a VM registered with host replay (an unmodified guest, synjitsu/README.md). One
// implementation for both, so the protocol below lives once.
//
// Take-over protocol — no SYN lost, none handed over twice:
//
//   guest (this file), ONE Xenstore transaction for all of the VM's addresses:
//     for each ip: directory-walk /ip/<ip>/<port>/<client-ip>/<client-port>/syn,
//                  read every record (one pipelined batch per node),
//                  rm each /ip/<ip>/<port> subtree (taken or malformed alike),
//                  write /ip/<ip> = "managed";
//     commit; on EAGAIN (or a lost transaction) run the whole body again.
//   synjitsu, one transaction per SYN: read /ip/<ip>; if "managed" write nothing
//     (the VM answers by itself now), else write the record; commit (retry on EAGAIN).
//
// Both transactions touch /ip/<ip> and the directories on the way to the record, so
// whichever commits second conflicts and retries: a SYN committed before the take is
// in the take's report; one that would commit after it sees "managed" and is dropped
// on purpose. Nothing is lost in between.
//
// Records that fail to decode (decode_queued_syn) or stray nodes in the tree are
// removed too and counted in the report, never fatal. The returned records are sorted
// by capture time, then 4-tuple, so replay order is stable.
//
// Two-step fallback. The single transaction reads every record, so a writer streaming
// SYNs (a flood) can make it conflict again and again; and an unprivileged domain's
// transaction may touch at most 1024 nodes (xenstored's transaction-nodes quota). When
// the single transaction still conflicts after take_options::max_attempts attempts, or
// the server refuses it for its size (ENOSPC/E2BIG), take_queued_syns falls back to two
// steps that are just as safe: (1) a small transaction that only writes every
// /ip/<ip> = "managed" — from its commit on synjitsu adds nothing; (2) walk, read and
// remove what is queued, which can no longer grow (in a transaction again, or without
// one if that is refused for its size too). SYNs committed before (1) are all in the
// tree for (2); later ones reach the VM directly, as it is on the bridge before the
// take starts. The report says so (two_step).

#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/syn_queue.h"
#include "xenstore/asio.h"
#include "xenstore/client.h"
#include "xenstore/result.h"

namespace jitsu {

struct take_options {
    // Attempts of the single transaction before the two-step fallback.
    int max_attempts = 4;
    // Called once per attempt after everything was read and before the removals and
    // the commit, with the 1-based attempt number (negated for the fallback's drain
    // step). For tests (inject a concurrent writer) and tracing; may suspend.
    std::function<xenstore::asio::awaitable<void>(int attempt)> after_read{};
};

struct malformed_record {
    std::string path;    // the node that was removed
    std::string reason;  // why it did not decode
};

struct take_report {
    // Decoded records, sorted by time_ns, then tuple.
    std::vector<queued_syn> syns;
    // Records or stray nodes that were removed without being handed over.
    std::vector<malformed_record> malformed;
    // Transactions attempted in all (1 = no conflict).
    int attempts = 0;
    // The two-step fallback was used (see above).
    bool two_step = false;
    // Time from the first request to the commit.
    std::chrono::nanoseconds elapsed{};
};

// Takes every SYN queued under /ip/<ip> for each of `ips` and marks each ip managed.
// Errors: the client's (not connected, connection lost: nothing may have been taken;
// call again), and EAGAIN if even the fallback's steps conflict 16 times each.
xenstore::asio::awaitable<xenstore::result<take_report>> take_queued_syns(
    xenstore::client& client, std::span<const ip_address> ips, take_options options = {});

// What is queued under /ip/<ip> now, read with the same walk as the take but without a
// transaction and without removing anything: what a restarted synjitsu adopts (counts
// against its limits, prunes by age). Each record is read whole (its fields in one
// pipelined batch; writers change a record only in transactions), so a record is never
// half old, half new. A record removed between the walk and its read (a take running
// meanwhile) is left out; one without a syn/ node or that does not decode is listed in
// `malformed` (a take removes those). Records are sorted as take_queued_syns sorts them.
struct queue_listing {
    std::vector<queued_syn> syns;
    std::vector<malformed_record> malformed;
};
xenstore::asio::awaitable<xenstore::result<queue_listing>> list_queued_syns(
    xenstore::client& client, const ip_address& ip);

// Orders records as take_queued_syns returns them (time, then tuple).
void sort_for_replay(std::vector<queued_syn>& syns);

}  // namespace jitsu
