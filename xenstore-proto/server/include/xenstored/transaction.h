// A transaction: an isolated view of the tree, committed atomically or not at all.
//
// As in xenstored, the first access to a node inside a transaction captures the
// committed node (or its absence) together with its generation; later accesses in the
// transaction see and change that private copy. At commit, every captured node's
// committed generation is compared with the one captured: any difference means a
// concurrent change to something the transaction read or wrote (every write reads the
// node first), and the commit fails with EAGAIN, leaving the tree untouched. Watch
// events for the transaction's changes are fired only once it has committed.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "xenstored/node.h"
#include "xenstored/store.h"

namespace jitsu::xenstored {

class transaction {
  public:
    struct entry {
        std::string path;
        std::optional<node> local;                      // nullopt: absent in this transaction
        std::uint64_t read_generation = no_generation;  // committed generation when captured
        std::optional<perm_list> original_perms;        // perms when captured (watch checks)
        bool modified = false;
        bool fire = false;   // a watch event is due at commit
        bool exact = false;  // ... for watchers of exactly this node only
    };

    explicit transaction(std::uint32_t id) : id_(id) {}

    std::uint32_t id() const { return id_; }

    entry* find(std::string_view path);
    // Records the first access to `path`; `committed` is the node in the store.
    entry& capture(std::string_view path, const node* committed);
    std::size_t accessed() const { return entries_.size(); }

    // Change of the number of nodes each domain owns, as the transaction stands.
    std::int64_t owned_delta(std::uint32_t domid) const;
    void add_owned(std::uint32_t domid, int delta);
    const std::unordered_map<std::uint32_t, std::int64_t>& owned_deltas() const {
        return owned_delta_;
    }
    bool created_nodes() const { return created_nodes_; }
    void note_created() { created_nodes_ = true; }

    // True if any captured node changed in the store since it was captured.
    bool conflicts(const store& s) const;
    // Writes every modified node into `s` (fresh generations). Call only without conflict.
    void apply(store& s) const;

    const std::deque<entry>& entries() const { return entries_; }

  private:
    std::uint32_t id_;
    std::deque<entry> entries_;  // access order; deque keeps references stable
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> index_;
    std::unordered_map<std::uint32_t, std::int64_t> owned_delta_;
    bool created_nodes_ = false;
};

}  // namespace jitsu::xenstored
