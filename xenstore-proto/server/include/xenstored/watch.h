// Watches: the registry that finds which watches an event concerns.
//
// xenstored's rules: a change to a node fires the watches on that node and on every
// ancestor ("/" included); removing a subtree fires the watches on the removed node and
// its ancestors once, and the watches on each removed descendant for that descendant
// ("exact" events). Special paths (@introduceDomain, @releaseDomain) fire their own
// watches and those on "/". Whether the watcher may see the event is decided by core.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "xenstored/store.h"

namespace jitsu::xenstored {

class session;

struct watch {
    std::string path;  // absolute node path, or a name starting with '@'
    std::string token;
    std::size_t strip = 0;  // relative watch: length of the implicit path cut from events
    session* owner = nullptr;
};

// The path an event at `path` is reported with to `w` (relative watches get relative
// paths, as they were registered).
std::string_view event_path(const watch& w, std::string_view path);

class watch_registry {
  public:
    void add(watch& w);
    void remove(const watch& w);
    bool empty() const { return count_ == 0; }
    std::size_t size() const { return count_; }

    // Calls f(watch&) for every watch an event at `path` concerns.
    template <typename F>
    void match(std::string_view path, bool exact, F&& f) const {
        if (count_ == 0) return;
        if (exact) {
            visit(path, f);
            return;
        }
        if (!path.empty() && path.front() == '@') {
            visit(path, f);
            visit("/", f);
            return;
        }
        std::string_view p = path;
        for (;;) {
            visit(p, f);
            if (p.size() <= 1) break;
            auto slash = p.rfind('/');
            p = slash == 0 ? std::string_view("/") : p.substr(0, slash);
        }
    }

  private:
    template <typename F>
    void visit(std::string_view p, F& f) const {
        auto it = by_path_.find(p);
        if (it == by_path_.end()) return;
        // Delivering an event never changes the registry.
        for (watch* w : it->second) f(*w);
    }

    std::unordered_map<std::string, std::vector<watch*>, string_hash, std::equal_to<>> by_path_;
    std::size_t count_ = 0;
};

}  // namespace jitsu::xenstored
