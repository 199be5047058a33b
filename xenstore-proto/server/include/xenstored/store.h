// The committed node tree: path -> node, the global generation counter, how many
// nodes each domain owns (for the node quota), the set of paths changed since the
// last persist (when change tracking is on), and, while one request runs, an undo log
// of the nodes it changed (so that a request whose changes cannot be persisted leaves
// no trace).
//
// Lookups take a string_view (heterogeneous hashing: no allocation). Pointers to nodes
// stay valid until that node is erased (std::unordered_map never moves its elements).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "xenstored/node.h"

namespace jitsu::xenstored {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

using node_map = std::unordered_map<std::string, node, string_hash, std::equal_to<>>;

class store {
  public:
    // xenstored's initial tree: "/", "/tool", "/tool/xenstored", all "n0".
    store();
    struct empty_tag {};
    // No nodes at all (for loading a persisted tree).
    explicit store(empty_tag);

    const node* find(std::string_view path) const;
    // The node to change in place, with a fresh generation; nullptr if absent. A
    // caller that changes the owner (perms[0]) must call owner_changed.
    node* modify(std::string_view path);
    // Inserts a node that does not exist yet, with a fresh generation.
    node& create(std::string_view path, node n);
    // Creates or overwrites, with a fresh generation (transaction commit, loading).
    void replace(std::string_view path, node n);
    // Returns false if absent.
    bool erase(std::string_view path);
    void owner_changed(std::uint32_t from, std::uint32_t to);

    std::uint64_t next_generation() { return ++generation_; }
    std::uint64_t generation() const { return generation_; }

    std::uint32_t owned_nodes(std::uint32_t domid) const;
    std::size_t size() const { return nodes_.size(); }
    const node_map& nodes() const { return nodes_; }

    // Persistence support: while on, every changed path is remembered until taken.
    void track_changes(bool on) { tracking_ = on; }
    bool tracking_changes() const { return tracking_; }
    bool has_changes() const { return !dirty_.empty(); }
    std::vector<std::string> take_changes();

    // Undo log: while recording, every change keeps the node as it was before (or its
    // absence). undo() puts them all back, generations included (an open transaction
    // that captured one sees it unchanged), without marking anything changed.
    void record_undo(bool on);
    void undo();
    bool recording_undo() const { return undo_on_; }

    // Structural check (every node's parent lists it, every listed child exists, owner
    // counts add up). Returns a description of the first problem found.
    std::optional<std::string> check_consistency() const;

  private:
    // Called before a change to `path`: `before` is the node as it is (nullptr: absent).
    void touch(std::string_view path, const node* before);
    void count(std::uint32_t domid, int delta);

    node_map nodes_;
    std::uint64_t generation_ = 0;
    std::unordered_map<std::uint32_t, std::uint32_t> owned_;
    bool tracking_ = false;
    std::vector<std::string> dirty_;
    bool undo_on_ = false;
    std::vector<std::pair<std::string, std::optional<node>>> undo_;
};

}  // namespace jitsu::xenstored
