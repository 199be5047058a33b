// The tree as one request sees it: the committed store, or a transaction's private
// view of it. Node operations (tree_ops.h) are written once against this.
#pragma once

#include <cstdint>
#include <string_view>

#include "xenstored/node.h"
#include "xenstored/store.h"
#include "xenstored/transaction.h"

namespace jitsu::xenstored {

// Told about committed changes, to fire watches. `node_perms` are the node's
// permissions if the caller has them at hand (else they are looked up), `old_perms`
// the ones before a set_perms or at a transaction's first access.
class change_listener {
  public:
    virtual void node_changed(std::string_view path, bool exact, const perm_list* node_perms,
                              const perm_list* old_perms) = 0;

  protected:
    ~change_listener() = default;
};

class tree_view {
  public:
    // `tx_node_limit`: most nodes a transaction may touch (0 = unlimited).
    tree_view(store& s, transaction* tx, change_listener& listener, std::size_t tx_node_limit = 0)
        : store_(s), tx_(tx), listener_(listener), tx_node_limit_(tx_node_limit) {}

    bool in_transaction() const { return tx_ != nullptr; }

    // The node as this view sees it, or nullptr. Inside a transaction this records the
    // access; `err` becomes ENOSPC when the transaction may touch no more nodes.
    const node* get(std::string_view path, int& err);

    // The following take a path this request has already looked up with get().
    // Changes a node that exists in this view (fresh generation).
    node* modify(std::string_view path);
    // Adds a node absent in this view.
    void create(std::string_view path, node n);
    // Removes a node present in this view (not its children).
    void remove(std::string_view path);
    // Keeps per-domain node counts right after a change of owner via modify().
    void owner_changed(std::uint32_t from, std::uint32_t to);

    // Nodes `domid` owns, counting this transaction's uncommitted creations/removals.
    std::int64_t owned_nodes(std::uint32_t domid) const;

    // A watch-relevant change: fired now, or queued for the transaction's commit.
    void changed(std::string_view path, bool exact, const perm_list* node_perms,
                 const perm_list* old_perms);

  private:
    store& store_;
    transaction* tx_;
    change_listener& listener_;
    std::size_t tx_node_limit_;
};

}  // namespace jitsu::xenstored
