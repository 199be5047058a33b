#pragma once
// The two ways synjitsu runs: live on an interface, or offline over a capture. Both
// return the process exit code (config.h).

#include <ostream>

#include "synjitsu/config.h"

namespace jitsu::synjitsu {

// Offline: frames from cfg.pcap_in with the capture's clock; frames synjitsu would
// send to cfg.pcap_out; the queue to Xenstore when XENSTORED_PATH is set (and no
// --dump-queue), else kept in memory and, with --dump-queue, printed to `dump`.
// Static --booting VMs are registered at the first frame's time. Deterministic: the
// ISN key is fixed and nothing depends on the wall clock.
int run_offline(const config& cfg, std::ostream& dump);

// Live: pcap on cfg.interface, Xenstore via XENSTORED_PATH (required), until SIGINT /
// SIGTERM. SIGUSR1 logs the counters.
int run_live(const config& cfg);

}  // namespace jitsu::synjitsu
