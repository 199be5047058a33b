#pragma once
// tree_reader over a live Xenstore (the blocking client: jitsu-ctl is a short-lived
// command, not a daemon).

#include <memory>
#include <string>

#include "jitsu_ctl/status.h"

namespace jitsu::ctl {

// Connects to the Xenstore socket at `socket_path`; throws read_error (one line) when it
// cannot.
std::unique_ptr<tree_reader> connect_xenstore_reader(const std::string& socket_path);

}  // namespace jitsu::ctl
