#include "xenstored/watch.h"

#include <algorithm>

namespace jitsu::xenstored {

std::string_view event_path(const watch& w, std::string_view path) {
    if (w.strip == 0 || path.size() < w.strip) return path;
    // "/local/domain/5/data" for a watch on "data": cut "/local/domain/5" and the '/'.
    path.remove_prefix(w.strip);
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    return path;
}

void watch_registry::add(watch& w) {
    by_path_[w.path].push_back(&w);
    ++count_;
}

void watch_registry::remove(const watch& w) {
    auto it = by_path_.find(w.path);
    if (it == by_path_.end()) return;
    auto& v = it->second;
    auto pos = std::find(v.begin(), v.end(), &w);
    if (pos == v.end()) return;
    v.erase(pos);
    --count_;
    if (v.empty()) by_path_.erase(it);
}

}  // namespace jitsu::xenstored
