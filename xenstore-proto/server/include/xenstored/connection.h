// One client on a unix socket (Asio): reads into the request_stream, hands complete
// requests to the handler, and writes the session's output. The event loop is single
// threaded; nothing here blocks.
//
// Reads: one async_read_some at a time into a fixed buffer; every complete request in
// it is handled (pipelining), then the batch is ended (persist, then flush). Writes:
// the session's queued output is swapped into the write buffer and sent with one
// async_write; more output queued meanwhile goes in the next one (batched replies).
// Reading pauses while the outstanding quota is reached and resumes when the client
// has read. A session whose queued output exceeds the output limit (a client that
// does not read its watch events; for an unprivileged domain, the limit binds the total
// of its connections) is disconnected.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "xenstored/request_handler.h"
#include "xenstored/request_stream.h"
#include "xenstored/session.h"

namespace jitsu::xenstored {

class connection;

// What a connection needs from whoever owns it.
class connection_owner {
  public:
    virtual void connection_closed(const std::shared_ptr<connection>& c) = 0;
    // `c` left more output unread than the output limit allows; it is dropped next.
    virtual void output_overflowed(const connection& c) = 0;

  protected:
    ~connection_owner() = default;
};

class connection final : public std::enable_shared_from_this<connection>, private output_listener {
  public:
    using socket_type = boost::asio::local::stream_protocol::socket;

    connection(socket_type socket, request_handler& handler, std::uint32_t domid,
               connection_owner& owner);
    ~connection();

    void start();
    // Closes the socket and drops the session's watches and transactions. Idempotent.
    void stop();

    const session& client() const { return session_; }

  private:
    void do_read();
    void handle_input();
    void output_ready() override;
    void do_write();

    socket_type socket_;
    request_handler& handler_;
    connection_owner& owner_;
    session session_;
    request_stream stream_;
    std::vector<std::uint8_t> write_buf_;
    bool reading_ = false;
    bool writing_ = false;
    bool blocked_ = false;
    bool stopped_ = false;
};

}  // namespace jitsu::xenstored
