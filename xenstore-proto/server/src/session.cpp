#include "xenstored/session.h"

#include <cstring>

#include "xenstored/core.h"
#include "xenstored/path.h"

namespace jitsu::xenstored {

session::session(core& c, std::uint32_t domid)
    : core_(c), who_{domid, domid == 0}, implicit_path_(domain_path(domid)) {
    id_ = core_.add_session(*this);
}

session::~session() {
    close();
    core_.remove_session(*this);
}

void session::append_message(std::uint32_t type, std::uint32_t req_id, std::uint32_t tx_id,
                             std::initializer_list<std::string_view> parts, std::size_t len) {
    xenstore::header h{type, req_id, tx_id, static_cast<std::uint32_t>(len)};
    const auto old = outbox_.size();
    outbox_.resize(old + xenstore::header_size + len);
    std::uint8_t* p = outbox_.data() + old;
    std::memcpy(p, &h, xenstore::header_size);
    p += xenstore::header_size;
    for (auto part : parts) {
        if (part.empty()) continue;
        std::memcpy(p, part.data(), part.size());
        p += part.size();
    }
    if (outbox_.size() + inflight_bytes_ > core_.quotas().output_limit) overflowed_ = true;
    note_output();
}

void session::note_output() { core_.output_pending(*this); }

void session::reply(const xenstore::header& req, std::uint32_t type,
                    std::initializer_list<std::string_view> parts) {
    if (closed_ || overflowed_) return;
    std::size_t len = 0;
    for (auto part : parts) len += part.size();
    if (len > xenstore::payload_max) {
        reply_error(req, E2BIG);
        return;
    }
    append_message(type, req.req_id, req.tx_id, parts, len);
    ++outbox_replies_;
}

void session::reply_error(const xenstore::header& req, int err) {
    if (closed_ || overflowed_) return;
    auto name = xenstore::error_name(err);
    append_message(XS_ERROR, req.req_id, req.tx_id, {name, {"\0", 1}}, name.size() + 1);
    ++outbox_replies_;
    ++core_.stats().errors;
}

void session::send_event(std::string_view path, std::string_view token) {
    if (closed_ || overflowed_) return;
    const std::size_t len = path.size() + 1 + token.size() + 1;
    if (len > xenstore::payload_max) return;  // as xenstored: over-long events are dropped
    if (path.empty() || path.front() != '@') {
        std::string key;
        key.reserve(len);
        key.append(path).push_back('\0');
        key.append(token);
        if (!queued_events_.insert(std::move(key)).second) return;  // identical one queued
    }
    constexpr std::string_view nul{"\0", 1};
    append_message(XS_WATCH_EVENT, xenstore::watch_event_req_id, 0, {path, nul, token, nul}, len);
    ++core_.stats().watch_events;
}

void session::take_output(std::vector<std::uint8_t>& out) {
    out.clear();
    out.swap(outbox_);
    inflight_replies_ += outbox_replies_;
    inflight_bytes_ += out.size();
    outbox_replies_ = 0;
    queued_events_.clear();
}

void session::output_written() {
    inflight_replies_ = 0;
    inflight_bytes_ = 0;
}

void session::close() {
    if (closed_) return;
    closed_ = true;
    clear_watches();
    clear_transactions();
    outbox_.clear();
    queued_events_.clear();
    listener_ = nullptr;
}

watch& session::add_watch(std::string path, std::string token, std::size_t strip) {
    auto w = std::make_unique<watch>();
    w->path = std::move(path);
    w->token = std::move(token);
    w->strip = strip;
    w->owner = this;
    core_.watches().add(*w);
    watches_.push_back(std::move(w));
    return *watches_.back();
}

bool session::remove_watch(std::string_view path, std::string_view token) {
    for (auto it = watches_.begin(); it != watches_.end(); ++it) {
        if ((*it)->path == path && (*it)->token == token) {
            core_.watches().remove(**it);
            watches_.erase(it);
            return true;
        }
    }
    return false;
}

void session::clear_watches() {
    for (auto& w : watches_) core_.watches().remove(*w);
    watches_.clear();
}

transaction* session::find_transaction(std::uint32_t id) {
    auto it = transactions_.find(id);
    return it == transactions_.end() ? nullptr : it->second.get();
}

transaction& session::start_transaction() {
    std::uint32_t id = next_transaction_id_++;
    while (id == 0 || transactions_.count(id) != 0) id = next_transaction_id_++;
    auto& slot = transactions_[id];
    slot = std::make_unique<transaction>(id);
    return *slot;
}

std::unique_ptr<transaction> session::end_transaction(std::uint32_t id) {
    auto it = transactions_.find(id);
    if (it == transactions_.end()) return nullptr;
    auto t = std::move(it->second);
    transactions_.erase(it);
    return t;
}

}  // namespace jitsu::xenstored
