#pragma once
// The jitsu-dns daemon: catalog, backend, Xenstore, booter and DNS server wired on one
// event loop, until SIGTERM/SIGINT. main() is parse_command_line + run_daemon.

#include "jitsu_dns/options.h"

namespace jitsu::dns {

// Returns the process exit code (options.h). Logs one line per failure.
int run_daemon(const daemon_options& options);

}  // namespace jitsu::dns
