// Test harness: clients of an in-memory jitsu-xenstored core, talking through the real
// wire codec and request handler (no sockets). Every call returns the messages the
// client received (the reply last, watch events before it, as xenstored queues them).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "xenstore/wire.h"
#include "xenstored/core.h"
#include "xenstored/request_handler.h"
#include "xenstored/request_stream.h"
#include "xenstored/session.h"

namespace jitsu::xenstored::testing {

using namespace std::string_literals;

struct message {
    std::uint32_t type = 0;
    std::uint32_t req_id = 0;
    std::uint32_t tx_id = 0;
    std::string payload;

    bool is_error() const { return type == XS_ERROR; }
    // The errno name of an XS_ERROR ("ENOENT"), else "".
    std::string error() const {
        return is_error() ? payload.substr(0, payload.find('\0')) : std::string();
    }
};

inline std::vector<message> parse_messages(const std::vector<std::uint8_t>& bytes) {
    std::vector<message> out;
    std::span<const std::uint8_t> rest(bytes);
    while (!rest.empty()) {
        auto f = xenstore::parse_frame(rest);
        if (f.status != xenstore::frame_status::complete) break;
        out.push_back(
            {f.hdr.type, f.hdr.req_id, f.hdr.tx_id,
             std::string(reinterpret_cast<const char*>(f.payload.data()), f.payload.size())});
        rest = rest.subspan(f.consumed);
    }
    return out;
}

class server_fixture;

class client {
  public:
    client(core& c, request_handler& h, std::uint32_t domid) : handler_(h), s_(c, domid) {}

    // Sends one request; returns everything this client received meanwhile.
    std::vector<message> request(std::uint32_t type, std::string_view payload,
                                 std::uint32_t tx = 0) {
        auto bytes = xenstore::make_message(type, ++req_id_, tx, payload);
        auto f = xenstore::parse_frame(bytes);
        handler_.handle(s_, f.hdr, f.payload);
        handler_.state().end_batch();
        return drain();
    }
    // The reply (last message) of one request.
    message call(std::uint32_t type, std::string_view payload, std::uint32_t tx = 0) {
        auto msgs = request(type, payload, tx);
        for (auto it = msgs.rbegin(); it != msgs.rend(); ++it) {
            if (it->type != XS_WATCH_EVENT) {
                // Keep any events for events().
                for (auto& m : msgs) {
                    if (m.type == XS_WATCH_EVENT) events_.push_back(m);
                }
                return *it;
            }
        }
        return {};
    }
    // Everything queued for this client (e.g. events caused by another client).
    std::vector<message> drain() {
        s_.take_output(out_);
        s_.output_written();
        return parse_messages(out_);
    }
    // Watch events received so far (from call() and drain_events()), then forgotten.
    std::vector<std::pair<std::string, std::string>> events() {
        for (auto& m : drain()) {
            if (m.type == XS_WATCH_EVENT) events_.push_back(m);
        }
        std::vector<std::pair<std::string, std::string>> out;
        for (auto& m : events_) {
            auto nul = m.payload.find('\0');
            auto token_end = m.payload.find('\0', nul + 1);
            out.emplace_back(m.payload.substr(0, nul),
                             m.payload.substr(nul + 1, token_end - nul - 1));
        }
        events_.clear();
        return out;
    }

    // Shorthands: "" on success for acks, the error name otherwise.
    std::string write(std::string_view path, std::string_view value, std::uint32_t tx = 0) {
        return ack(call(XS_WRITE, std::string(path) + '\0' + std::string(value), tx));
    }
    std::string mkdir(std::string_view path, std::uint32_t tx = 0) {
        return ack(call(XS_MKDIR, arg(path), tx));
    }
    std::string rm(std::string_view path, std::uint32_t tx = 0) {
        return ack(call(XS_RM, arg(path), tx));
    }
    std::string set_perms(std::string_view path, std::vector<std::string> perms,
                          std::uint32_t tx = 0) {
        std::string p = arg(path);
        for (auto& s : perms) p += s + '\0';
        return ack(call(XS_SET_PERMS, p, tx));
    }
    std::string watch(std::string_view path, std::string_view token) {
        return ack(call(XS_WATCH, arg(path) + arg(token)));
    }
    std::string unwatch(std::string_view path, std::string_view token) {
        return ack(call(XS_UNWATCH, arg(path) + arg(token)));
    }
    // The value, or "ERR:<name>".
    std::string read(std::string_view path, std::uint32_t tx = 0) {
        auto m = call(XS_READ, arg(path), tx);
        return m.is_error() ? "ERR:" + m.error() : m.payload;
    }
    // Children joined by ',' or "ERR:<name>".
    std::string dir(std::string_view path, std::uint32_t tx = 0) {
        auto m = call(XS_DIRECTORY, arg(path), tx);
        return m.is_error() ? "ERR:" + m.error() : join(m.payload);
    }
    // Permissions joined by ',' or "ERR:<name>".
    std::string perms(std::string_view path, std::uint32_t tx = 0) {
        auto m = call(XS_GET_PERMS, arg(path), tx);
        return m.is_error() ? "ERR:" + m.error() : join(m.payload);
    }
    // A transaction id (0 on error).
    std::uint32_t start() {
        auto m = call(XS_TRANSACTION_START, arg(""));
        return m.is_error() ? 0 : static_cast<std::uint32_t>(std::stoul(m.payload));
    }
    std::string end(std::uint32_t tx, bool commit = true) {
        return ack(call(XS_TRANSACTION_END, commit ? "T\0"s : "F\0"s, tx));
    }

    session& state() { return s_; }

    static std::string arg(std::string_view s) { return std::string(s) + '\0'; }
    static std::string ack(const message& m) {
        if (m.is_error()) return m.error();
        return m.payload == "OK\0"s ? "" : "unexpected:" + m.payload;
    }
    static std::string join(std::string_view nul_separated) {
        std::string out;
        while (!nul_separated.empty()) {
            auto nul = nul_separated.find('\0');
            if (!out.empty()) out += ',';
            out += nul_separated.substr(0, nul);
            if (nul == std::string_view::npos) break;
            nul_separated.remove_prefix(nul + 1);
        }
        return out;
    }

  private:
    request_handler& handler_;
    session s_;
    std::uint32_t req_id_ = 0;
    std::vector<std::uint8_t> out_;
    std::vector<message> events_;
};

// A core plus a handler; make clients with dom0() / domain(N).
class server_fixture {
  public:
    explicit server_fixture(quota_config q = {}) : state_(q), handler_(state_) {}
    std::unique_ptr<client> dom0() { return std::make_unique<client>(state_, handler_, 0); }
    std::unique_ptr<client> domain(std::uint32_t domid) {
        return std::make_unique<client>(state_, handler_, domid);
    }
    core& state() { return state_; }
    request_handler& handler() { return handler_; }

  private:
    core state_;
    request_handler handler_;
};

}  // namespace jitsu::xenstored::testing
