#include "xenstored/request_stream.h"

#include <cstring>

namespace jitsu::xenstored {

request_stream::request_stream(request_handler& handler, session& s)
    : handler_(handler), session_(s), buf_(buffer_size) {}

std::span<std::uint8_t> request_stream::read_space() {
    if (end_ == buf_.size()) compact();
    return {buf_.data() + end_, buf_.size() - end_};
}

void request_stream::commit(std::size_t n) { end_ += std::min(n, buf_.size() - end_); }

void request_stream::compact() {
    if (begin_ == 0) return;
    const std::size_t left = end_ - begin_;
    if (left != 0) std::memmove(buf_.data(), buf_.data() + begin_, left);
    begin_ = 0;
    end_ = left;
}

request_stream::status request_stream::process() {
    const std::size_t outstanding_limit = handler_.state().quotas().outstanding;
    for (;;) {
        if (begin_ == end_) {
            begin_ = end_ = 0;
            return status::idle;
        }
        if (session_.closed()) return status::close;
        if (session_.outstanding() >= outstanding_limit) return status::blocked;
        auto f = xenstore::parse_frame({buf_.data() + begin_, end_ - begin_});
        if (f.status == xenstore::frame_status::oversized) return status::close;
        if (f.status == xenstore::frame_status::need_more) {
            // A partial request: keep it at the front so a whole one always fits.
            if (buf_.size() - begin_ < xenstore::header_size + xenstore::payload_max) compact();
            return status::idle;
        }
        handler_.handle(session_, f.hdr, f.payload);
        begin_ += f.consumed;
    }
}

}  // namespace jitsu::xenstored
