#include "xenstored/transaction.h"

namespace jitsu::xenstored {

transaction::entry* transaction::find(std::string_view path) {
    auto it = index_.find(path);
    return it == index_.end() ? nullptr : &entries_[it->second];
}

transaction::entry& transaction::capture(std::string_view path, const node* committed) {
    entry& e = entries_.emplace_back();
    e.path.assign(path);
    if (committed != nullptr) {
        e.local = *committed;
        e.read_generation = committed->generation;
        e.original_perms = committed->perms;
    }
    index_.emplace(e.path, entries_.size() - 1);
    return e;
}

std::int64_t transaction::owned_delta(std::uint32_t domid) const {
    auto it = owned_delta_.find(domid);
    return it == owned_delta_.end() ? 0 : it->second;
}

void transaction::add_owned(std::uint32_t domid, int delta) { owned_delta_[domid] += delta; }

bool transaction::conflicts(const store& s) const {
    for (const auto& e : entries_) {
        const node* now = s.find(e.path);
        std::uint64_t gen = now == nullptr ? no_generation : now->generation;
        if (gen != e.read_generation) return true;
    }
    return false;
}

void transaction::apply(store& s) const {
    for (const auto& e : entries_) {
        if (!e.modified) continue;
        if (e.local) {
            s.replace(e.path, *e.local);
        } else {
            s.erase(e.path);
        }
    }
}

}  // namespace jitsu::xenstored
