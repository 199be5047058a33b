// Table-driven dispatch of one request (xenstored's wire_funcs): each XS_ type has a
// handler and flags. The checks every request shares are made here, in one place:
// unknown or reply-only types -> ENOSYS; privileged-only types from an unprivileged
// domain -> EACCES; the transaction id (ignored by watch/unwatch) must name an open
// transaction of this connection -> else ENOENT. A handler returns 0 after replying,
// or an errno that becomes the XS_ERROR reply.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "xenstore/wire.h"
#include "xenstored/core.h"
#include "xenstored/session.h"

namespace jitsu::xenstored {

class request_handler {
  public:
    explicit request_handler(core& c) : core_(c) {}

    // Handles one complete request from `s`; replies and watch events are queued on
    // the sessions concerned. Its changes are persisted before it returns; if that
    // fails, it is undone and `s` gets the error (ENOSPC, EIO). Call core::end_batch()
    // after a batch of requests.
    void handle(session& s, const xenstore::header& hdr, std::span<const std::uint8_t> payload);

    core& state() { return core_; }

  private:
    core& core_;
    std::string scratch_;  // reused for canonicalised paths
};

}  // namespace jitsu::xenstored
