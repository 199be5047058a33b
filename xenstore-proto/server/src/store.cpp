#include "xenstored/store.h"

#include "xenstored/path.h"

namespace jitsu::xenstored {

namespace {

node initial_node(std::string_view child) {
    node n;
    n.perms = {permission{access::none, 0}};
    if (!child.empty()) add_child(n.children, child);
    return n;
}

}  // namespace

store::store() {
    create("/", initial_node("tool"));
    create("/tool", initial_node("xenstored"));
    create("/tool/xenstored", initial_node(""));
}

store::store(empty_tag) {}

const node* store::find(std::string_view path) const {
    auto it = nodes_.find(path);
    return it == nodes_.end() ? nullptr : &it->second;
}

node* store::modify(std::string_view path) {
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return nullptr;
    touch(path, &it->second);
    it->second.generation = next_generation();
    return &it->second;
}

node& store::create(std::string_view path, node n) {
    n.generation = next_generation();
    touch(path, find(path));
    count(n.owner(), +1);
    auto [it, inserted] = nodes_.try_emplace(std::string(path), std::move(n));
    if (!inserted) {
        // Callers check for absence; keep the accounting right if one did not.
        count(it->second.owner(), -1);
    }
    return it->second;
}

void store::replace(std::string_view path, node n) {
    n.generation = next_generation();
    auto it = nodes_.find(path);
    touch(path, it == nodes_.end() ? nullptr : &it->second);
    if (it == nodes_.end()) {
        count(n.owner(), +1);
        nodes_.emplace(std::string(path), std::move(n));
        return;
    }
    count(it->second.owner(), -1);
    count(n.owner(), +1);
    it->second = std::move(n);
}

bool store::erase(std::string_view path) {
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return false;
    count(it->second.owner(), -1);
    touch(path, nullptr);
    if (undo_on_) undo_.back().second = std::move(it->second);  // no copy needed
    nodes_.erase(it);
    return true;
}

void store::owner_changed(std::uint32_t from, std::uint32_t to) {
    if (from == to) return;
    count(from, -1);
    count(to, +1);
}

std::uint32_t store::owned_nodes(std::uint32_t domid) const {
    auto it = owned_.find(domid);
    return it == owned_.end() ? 0 : it->second;
}

std::vector<std::string> store::take_changes() {
    std::vector<std::string> out;
    out.swap(dirty_);
    return out;
}

void store::touch(std::string_view path, const node* before) {
    if (tracking_) dirty_.emplace_back(path);
    if (!undo_on_) return;
    auto& entry = undo_.emplace_back(std::string(path), std::nullopt);
    if (before != nullptr) entry.second = *before;
}

void store::record_undo(bool on) {
    undo_on_ = on;
    undo_.clear();
}

void store::undo() {
    // Latest first, so that a path changed twice ends as it was before the first change.
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
        auto now = nodes_.find(it->first);
        if (now != nodes_.end()) {
            count(now->second.owner(), -1);
            if (!it->second) {
                nodes_.erase(now);
                continue;
            }
            count(it->second->owner(), +1);
            now->second = std::move(*it->second);
        } else if (it->second) {
            count(it->second->owner(), +1);
            nodes_.emplace(it->first, std::move(*it->second));
        }
    }
    undo_.clear();
}

void store::count(std::uint32_t domid, int delta) {
    auto& c = owned_[domid];
    if (delta < 0 && c == 0) return;
    c = static_cast<std::uint32_t>(static_cast<int>(c) + delta);
    if (c == 0) owned_.erase(domid);
}

std::optional<std::string> store::check_consistency() const {
    if (find(root_path) == nullptr) return "no root node";
    std::unordered_map<std::uint32_t, std::uint32_t> owners;
    std::size_t listed_children = 0;
    for (const auto& entry : nodes_) {
        const std::string& path = entry.first;  // (clang: no lambda capture of bindings)
        const node& n = entry.second;
        if (n.perms.empty()) return "node " + path + " has no permissions";
        ++owners[n.owner()];
        if (path != root_path) {
            const node* parent = find(parent_of(path));
            if (parent == nullptr) return "node " + path + " has no parent";
            if (!has_child(parent->children, basename_of(path))) {
                return "node " + path + " is not listed by its parent";
            }
        }
        bool ok = true;
        std::string bad;
        for_each_child(n.children, [&](std::string_view child) {
            ++listed_children;
            if (!ok) return;
            if (child.empty() || find(child_path(path, child)) == nullptr) {
                ok = false;
                bad = std::string(child);
            }
        });
        if (!ok) return "node " + path + " lists missing child '" + bad + "'";
    }
    if (listed_children + 1 != nodes_.size()) return "children lists do not match the nodes";
    if (owners != owned_) return "per-domain node counts are wrong";
    return std::nullopt;
}

}  // namespace jitsu::xenstored
