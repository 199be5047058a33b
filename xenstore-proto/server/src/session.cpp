#include "xenstored/session.h"

#include <algorithm>
#include <cstring>

#include "xenstored/core.h"
#include "xenstored/path.h"

namespace jitsu::xenstored {

session::session(core& c, std::uint32_t domid)
    : core_(c),
      who_{domid, domid == 0},
      implicit_path_(domain_path(domid)),
      usage_(&c.attach_domain(domid)) {
    id_ = core_.add_session(*this);
}

session::~session() {
    close();
    core_.remove_session(*this);
    core_.detach_domain(who_.domid);
}

void session::append_message(std::uint32_t type, std::uint32_t req_id, std::uint32_t tx_id,
                             std::initializer_list<std::string_view> parts, std::size_t len) {
    xenstore::header h{type, req_id, tx_id, static_cast<std::uint32_t>(len)};
    if (!request_mark_ && core_.recording_request()) {
        request_mark_ = output_mark{outbox_.size(), outbox_replies_};
        core_.note_request_output(*this);
    }
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
    note_output();
    if (who_.privileged) {
        if (queued_bytes() > core_.quotas().output_limit) overflow();
        return;
    }
    usage_->output_bytes += xenstore::header_size + len;
    if (usage_->output_bytes > core_.quotas().output_limit) core_.output_over_limit(domid());
}

void session::note_output() { core_.output_pending(*this); }

void session::uncount_output(std::size_t bytes) {
    if (output_counted())
        usage_->output_bytes -= std::min<std::uint64_t>(bytes, usage_->output_bytes);
}

void session::overflow() {
    if (overflowed_ || closed_) return;
    uncount_output(queued_bytes());
    overflowed_ = true;
    ++core_.stats().output_overflows;
    note_output();  // the listener is told, and drops the connection
}

void session::undo_request_output() {
    if (!request_mark_) return;
    const output_mark m = *request_mark_;
    request_mark_.reset();
    // An overflow is not undone: this session is being dropped; its output goes nowhere.
    if (overflowed_ || closed_ || outbox_.size() < m.outbox_bytes) return;
    uncount_output(outbox_.size() - m.outbox_bytes);
    outbox_.resize(m.outbox_bytes);
    outbox_replies_ = m.outbox_replies;
    // Events of the undone request may be in the duplicate filter: forget it (at worst
    // a duplicate event later, which watchers must accept anyway).
    queued_events_.clear();
}

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
    uncount_output(inflight_bytes_);
    inflight_replies_ = 0;
    inflight_bytes_ = 0;
}

void session::close() {
    if (closed_) return;
    uncount_output(queued_bytes());
    closed_ = true;
    clear_watches();
    clear_transactions();
    inflight_bytes_ = 0;
    outbox_.clear();
    queued_events_.clear();
    listener_ = nullptr;
}

bool session::watch_quota_reached() const {
    const std::size_t have = who_.privileged ? watches_.size() : usage_->watches;
    return have >= core_.quotas().watches;
}

bool session::transaction_quota_reached() const {
    const std::size_t have = who_.privileged ? transactions_.size() : usage_->transactions;
    return have >= core_.quotas().transactions;
}

watch& session::add_watch(std::string path, std::string token, std::size_t strip) {
    auto w = std::make_unique<watch>();
    w->path = std::move(path);
    w->token = std::move(token);
    w->strip = strip;
    w->owner = this;
    core_.watches().add(*w);
    watches_.push_back(std::move(w));
    ++usage_->watches;
    return *watches_.back();
}

bool session::remove_watch(std::string_view path, std::string_view token) {
    for (auto it = watches_.begin(); it != watches_.end(); ++it) {
        if ((*it)->path == path && (*it)->token == token) {
            core_.watches().remove(**it);
            watches_.erase(it);
            --usage_->watches;
            return true;
        }
    }
    return false;
}

void session::clear_watches() {
    for (auto& w : watches_) core_.watches().remove(*w);
    usage_->watches -= static_cast<std::uint32_t>(watches_.size());
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
    ++usage_->transactions;
    return *slot;
}

std::unique_ptr<transaction> session::end_transaction(std::uint32_t id) {
    auto it = transactions_.find(id);
    if (it == transactions_.end()) return nullptr;
    auto t = std::move(it->second);
    transactions_.erase(it);
    --usage_->transactions;
    return t;
}

void session::clear_transactions() {
    usage_->transactions -= static_cast<std::uint32_t>(transactions_.size());
    transactions_.clear();
}

}  // namespace jitsu::xenstored
