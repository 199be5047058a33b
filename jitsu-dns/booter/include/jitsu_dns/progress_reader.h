#pragma once
// Reads a booting VM's progress descriptor (backend::take_progress_fd) on the event loop:
// one call per line (`started`, `ready`, `failed: WHY`), then one with nullopt at EOF
// (the VM has ended) or on a read error. Lines are bounded (longer ones are cut), and so
// is the whole conversation: after max_lines lines the rest is ignored until EOF.

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "jitsu_dns/pending_signal.h"

namespace jitsu::dns {

using progress_handler = std::function<void(std::optional<std::string> line)>;

// Takes ownership of `fd` (closed on cancel or at EOF). `on_line` is never called after
// cancel(), nor from inside this call.
std::shared_ptr<pending_signal> read_progress(boost::asio::any_io_executor loop, int fd,
                                              progress_handler on_line);

}  // namespace jitsu::dns
