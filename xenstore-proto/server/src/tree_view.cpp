#include "xenstored/tree_view.h"

#include <cerrno>

namespace jitsu::xenstored {

const node* tree_view::get(std::string_view path, int& err) {
    err = 0;
    if (tx_ == nullptr) return store_.find(path);
    auto* e = tx_->find(path);
    if (e == nullptr) {
        if (tx_node_limit_ != 0 && tx_->accessed() >= tx_node_limit_) {
            err = ENOSPC;
            return nullptr;
        }
        e = &tx_->capture(path, store_.find(path));
    }
    return e->local ? &*e->local : nullptr;
}

node* tree_view::modify(std::string_view path) {
    if (tx_ == nullptr) return store_.modify(path);
    auto* e = tx_->find(path);
    if (e == nullptr || !e->local) return nullptr;
    e->modified = true;
    e->local->generation = store_.next_generation();
    return &*e->local;
}

void tree_view::create(std::string_view path, node n) {
    if (tx_ == nullptr) {
        store_.create(path, std::move(n));
        return;
    }
    auto* e = tx_->find(path);
    if (e == nullptr) e = &tx_->capture(path, nullptr);
    n.generation = store_.next_generation();
    tx_->add_owned(n.owner(), +1);
    tx_->note_created();
    e->local = std::move(n);
    e->modified = true;
}

void tree_view::remove(std::string_view path) {
    if (tx_ == nullptr) {
        store_.erase(path);
        return;
    }
    auto* e = tx_->find(path);
    if (e == nullptr || !e->local) return;
    tx_->add_owned(e->local->owner(), -1);
    e->local.reset();
    e->modified = true;
}

void tree_view::owner_changed(std::uint32_t from, std::uint32_t to) {
    if (from == to) return;
    if (tx_ == nullptr) {
        store_.owner_changed(from, to);
        return;
    }
    tx_->add_owned(from, -1);
    tx_->add_owned(to, +1);
}

std::int64_t tree_view::owned_nodes(std::uint32_t domid) const {
    std::int64_t n = store_.owned_nodes(domid);
    if (tx_ != nullptr) n += tx_->owned_delta(domid);
    return n;
}

void tree_view::changed(std::string_view path, bool exact, const perm_list* node_perms,
                        const perm_list* old_perms) {
    if (tx_ == nullptr) {
        listener_.node_changed(path, exact, node_perms, old_perms);
        return;
    }
    auto* e = tx_->find(path);
    if (e == nullptr) return;
    // A non-exact event replaces an exact one, never the other way round.
    if (!e->fire) {
        e->fire = true;
        e->exact = exact;
    } else if (!exact) {
        e->exact = false;
    }
}

}  // namespace jitsu::xenstored
