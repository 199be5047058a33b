#include "xenstored/core.h"

#include <algorithm>

#include "xenstored/path.h"
#include "xenstored/permissions.h"
#include "xenstored/session.h"

namespace jitsu::xenstored {

core::core(quota_config quotas) : quotas_(quotas) {}

core::core(quota_config quotas, store initial) : quotas_(quotas), store_(std::move(initial)) {}

core::~core() {
    // Sessions normally outlive nothing here; detach any left so they do not call back.
    for (session* s : sessions_) s->close();
}

void core::set_persistence(persistence* p) {
    persistence_ = p;
    store_.track_changes(p != nullptr);
}

std::uint64_t core::add_session(session& s) {
    sessions_.push_back(&s);
    return next_session_id_++;
}

void core::remove_session(session& s) {
    std::erase(sessions_, &s);
    std::erase(pending_output_, &s);
    std::erase(request_output_, &s);
}

domain_usage& core::attach_domain(std::uint32_t domid) {
    domain_usage& u = domains_usage_[domid];
    ++u.sessions;
    return u;
}

void core::detach_domain(std::uint32_t domid) {
    auto it = domains_usage_.find(domid);
    if (it != domains_usage_.end() && --it->second.sessions == 0) domains_usage_.erase(it);
}

const domain_usage* core::usage(std::uint32_t domid) const {
    auto it = domains_usage_.find(domid);
    return it == domains_usage_.end() ? nullptr : &it->second;
}

void core::output_over_limit(std::uint32_t domid) {
    const domain_usage* u = usage(domid);
    // Rare (a domain that does not read): a scan of the sessions is fine here.
    while (u != nullptr && u->output_bytes > quotas_.output_limit) {
        session* largest = nullptr;
        for (session* s : sessions_) {
            if (s->domid() != domid || !s->output_counted()) continue;
            if (largest == nullptr || s->queued_bytes() > largest->queued_bytes()) largest = s;
        }
        if (largest == nullptr) return;
        largest->overflow();
    }
}

void core::output_pending(session& s) {
    if (s.output_noted_) return;
    s.output_noted_ = true;
    pending_output_.push_back(&s);
}

void core::begin_request() {
    in_request_ = true;
    if (persistence_ == nullptr) return;
    store_.record_undo(true);
    request_watch_events_ = stats_.watch_events;
    request_commits_ = stats_.transactions_committed;
}

void core::note_request_output(session& s) { request_output_.push_back(&s); }

int core::end_request() {
    in_request_ = false;
    if (persistence_ == nullptr) return 0;
    int err = 0;
    if (store_.has_changes()) err = persistence_->commit(store_);
    if (err != 0) {
        store_.undo();
        for (session* s : request_output_) s->undo_request_output();
        stats_.watch_events = request_watch_events_;
        stats_.transactions_committed = request_commits_;
        ++stats_.persist_failures;
    }
    for (session* s : request_output_) s->request_mark_.reset();
    request_output_.clear();
    store_.record_undo(false);
    return err;
}

void core::end_batch() {
    if (pending_output_.empty()) return;
    std::vector<session*> ready;
    ready.swap(pending_output_);
    for (session* s : ready) s->output_noted_ = false;
    for (session* s : ready) {
        // A listener may drop its own session; never touch `s` after this call.
        if (s->listener_ != nullptr) s->listener_->output_ready();
    }
    if (pending_output_.empty()) {
        ready.clear();
        pending_output_.swap(ready);  // keep the capacity
    }
}

bool core::watch_permitted(const session& s, std::string_view path, const perm_list* node_perms,
                           const perm_list* old_perms) const {
    // xenstored's watch_permitted: the old permissions, the node's, or its parent's must
    // let the watcher read.
    const caller& who = s.who();
    if (who.privileged) return true;
    if (old_perms != nullptr && (perm_for(who, *old_perms) & perm_read)) return true;
    if (node_perms == nullptr) {
        const node* n = store_.find(path);
        if (n == nullptr) return false;
        node_perms = &n->perms;
    }
    if (perm_for(who, *node_perms) & perm_read) return true;
    const node* parent = store_.find(parent_of(path));
    return parent != nullptr && (perm_for(who, parent->perms) & perm_read);
}

void core::node_changed(std::string_view path, bool exact, const perm_list* node_perms,
                        const perm_list* old_perms) {
    watches_.match(path, exact, [&](watch& w) {
        session& s = *w.owner;
        if (!watch_permitted(s, path, node_perms, old_perms)) return;
        s.send_event(event_path(w, path), w.token);
    });
}

void core::fire_special(std::string_view name) {
    const perm_list* perms = domains_.special_perms(name);
    watches_.match(name, false, [&](watch& w) {
        session& s = *w.owner;
        if (!s.privileged() && (perms == nullptr || !(perm_for(s.who(), *perms) & perm_read))) {
            return;
        }
        s.send_event(name, w.token);
    });
}

}  // namespace jitsu::xenstored
