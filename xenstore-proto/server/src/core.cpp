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
}

void core::output_pending(session& s) {
    if (s.output_noted_) return;
    s.output_noted_ = true;
    pending_output_.push_back(&s);
}

bool core::end_batch() {
    if (persistence_ != nullptr && store_.has_changes()) {
        if (!persistence_->commit(store_)) return false;
    }
    if (pending_output_.empty()) return true;
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
    return true;
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
