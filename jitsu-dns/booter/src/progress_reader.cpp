#include "jitsu_dns/progress_reader.h"

#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace jitsu::dns {

namespace asio = boost::asio;

namespace {

constexpr std::size_t max_line = 512;
constexpr std::size_t max_lines = 64;

class progress_reader final : public pending_signal,
                              public std::enable_shared_from_this<progress_reader> {
  public:
    progress_reader(asio::any_io_executor loop, int fd, progress_handler on_line)
        : stream_(loop, fd), on_line_(std::move(on_line)) {}

    void read_more() {
        stream_.async_read_some(asio::buffer(buffer_),
                                [self = shared_from_this()](const boost::system::error_code& ec,
                                                            std::size_t n) { self->got(ec, n); });
    }

    void cancel() override {
        cancelled_ = true;
        boost::system::error_code ignored;
        stream_.close(ignored);
    }

  private:
    void got(const boost::system::error_code& ec, std::size_t n) {
        if (cancelled_) return;
        for (std::size_t i = 0; i < n && !cancelled_; ++i) {
            const char c = buffer_[i];
            if (c == '\n') {
                if (lines_++ < max_lines) on_line_(std::move(line_));
                line_.clear();
            } else if (line_.size() < max_line) {
                line_.push_back(c);
            }
        }
        if (cancelled_) return;
        if (ec) {  // EOF (the writer has exited) or an error: either way, no more news
            cancelled_ = true;
            boost::system::error_code ignored;
            stream_.close(ignored);
            on_line_(std::nullopt);
            return;
        }
        read_more();
    }

    asio::posix::stream_descriptor stream_;
    progress_handler on_line_;
    std::array<char, 256> buffer_{};
    std::string line_;
    std::size_t lines_ = 0;
    bool cancelled_ = false;
};

}  // namespace

std::shared_ptr<pending_signal> read_progress(asio::any_io_executor loop, int fd,
                                              progress_handler on_line) {
    auto reader = std::make_shared<progress_reader>(loop, fd, std::move(on_line));
    reader->read_more();
    return reader;
}

}  // namespace jitsu::dns
