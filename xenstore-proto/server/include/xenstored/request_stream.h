// The input side of one connection, without sockets: bytes in, complete requests to
// the handler. Several requests per read are handled in order (pipelining); a partial
// request waits for more bytes. A header announcing more than XENSTORE_PAYLOAD_MAX
// bytes ends the connection (as xenstored, which drops such a client: nothing can be
// trusted after a bad length). While the session has `outstanding` replies unread, no
// further request is taken (back-pressure; the client must read its replies).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "xenstored/request_handler.h"
#include "xenstored/session.h"

namespace jitsu::xenstored {

class request_stream {
  public:
    // Room for several maximal requests; always enough for one.
    static constexpr std::size_t buffer_size = 64 * 1024;

    request_stream(request_handler& handler, session& s);

    // Where to put the next bytes read (never empty), then how many arrived.
    std::span<std::uint8_t> read_space();
    void commit(std::size_t n);

    enum class status {
        idle,     // every complete request handled; read more
        blocked,  // outstanding quota reached; handle again once output is written
        close,    // oversized length: drop the connection
    };
    status process();

    std::size_t buffered() const { return end_ - begin_; }

  private:
    void compact();

    request_handler& handler_;
    session& session_;
    std::vector<std::uint8_t> buf_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace jitsu::xenstored
