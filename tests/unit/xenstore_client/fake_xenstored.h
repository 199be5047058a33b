// A scripted, in-process xenstored for the client's tests: a unix-socket acceptor that
// speaks the wire format over a map-backed store (read, write, mkdir, rm, directory,
// directory_part, perms, transactions, watches with initial events), with knobs to
// hold replies, force EAGAIN, drop connections and send arbitrary bytes.
//
// Runs on the executor it is given; drive it and the client from the same thread, or
// give it its own io_context thread and leave the knobs alone while it runs.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xenstore/asio.h"
#include "xenstore/wire.h"

namespace jitsu::xenstore::testing {

class fake_xenstored {
  public:
    fake_xenstored(asio::any_io_executor ex, std::string socket_path);
    ~fake_xenstored();
    fake_xenstored(const fake_xenstored&) = delete;
    fake_xenstored& operator=(const fake_xenstored&) = delete;

    // Binds the socket and accepts connections.
    void start();
    // Stops accepting (clients then fail to reconnect) and closes every session.
    void stop();
    // Closes every session: their watches and transactions are gone, as in xenstored.
    void drop_connections();
    // Sends raw bytes to every session.
    void send_raw(const std::vector<std::uint8_t>& bytes);

    std::size_t sessions() const { return sessions_.size(); }
    std::size_t accepted() const { return accepted_; }
    std::size_t open_transactions() const;
    std::size_t max_open_transactions_seen() const { return max_txs_; }

    // --- Knobs ---
    // Answer EAGAIN to this many commits (then behave normally).
    int eagain_commits = 0;
    // Keep requests unanswered until release_held().
    bool hold = false;
    std::size_t held_count() const { return held_.size(); }
    std::size_t max_held_seen() const { return max_held_; }
    // Answers the held requests, in arrival order or reversed.
    void release_held(bool reverse = false);
    // DIRECTORY answers E2BIG when the children list is longer than this many bytes.
    std::size_t directory_limit = payload_max;
    // Bytes of children per DIRECTORY_PART page.
    std::size_t directory_page = payload_max - 32;
    // Called for every request before normal handling; returning bytes sends them
    // instead of the normal reply (an empty vector: no reply at all).
    std::function<std::optional<std::vector<std::uint8_t>>(const header&, std::string_view)>
        intercept;

    // --- State ---
    std::map<std::string, std::string> nodes;  // absolute path -> value ("/" implicit)
    struct request_record {
        std::uint32_t type;
        std::uint32_t tx_id;
        std::string first;  // first string of the payload (usually the path)
    };
    std::vector<request_record> log;
    std::size_t count(std::uint32_t type) const;

    // Answers one request as the server would (exposed for tests that swallow a
    // request in `intercept` and answer it later).
    std::vector<std::uint8_t> answer(std::uint32_t session_id, const header& h,
                                     std::string_view payload);

  private:
    struct session;
    struct tx_state {
        std::map<std::string, std::string> nodes;
        std::uint64_t base_generation = 0;
        std::vector<std::pair<std::string, bool>> changed;  // (path, removed)
        std::uint32_t session_id = 0;
    };
    struct held_request {
        std::weak_ptr<session> who;
        header hdr;
        std::string payload;
    };

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> session_loop(std::shared_ptr<session> s);
    void handle(const std::shared_ptr<session>& s, const header& h, std::string_view payload);
    void send(const std::shared_ptr<session>& s, std::vector<std::uint8_t> bytes);
    void close_session(const std::shared_ptr<session>& s);
    void fire(const std::string& path, bool removed);

    asio::any_io_executor ex_;
    std::string path_;
    asio::local::stream_protocol::acceptor acceptor_;
    bool running_ = false;
    std::vector<std::shared_ptr<session>> sessions_;
    std::size_t accepted_ = 0;
    std::uint32_t next_session_ = 1;
    std::uint32_t next_tx_ = 1;
    std::uint64_t generation_ = 1;
    std::map<std::uint32_t, tx_state> txs_;
    std::map<std::string, std::vector<std::string>> perms_;
    std::deque<held_request> held_;
    std::size_t max_held_ = 0;
    std::size_t max_txs_ = 0;
};

}  // namespace jitsu::xenstore::testing
