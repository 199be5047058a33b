#pragma once
// A store's nodes as comparable text (value | permissions | children per path): what the
// persistence tests compare between a store in memory and the one loaded back.

#include <map>
#include <string>

#include "xenstore/wire.h"
#include "xenstored/store.h"

namespace jitsu::xenstored::testing {

inline std::map<std::string, std::string> store_contents(const store& s) {
    std::map<std::string, std::string> out;
    for (const auto& [path, n] : s.nodes()) {
        std::string perms;
        for (auto& p : n.perms) perms += xenstore::format_permission(p) + ",";
        out[path] = n.value + "|" + perms + "|" + n.children;
    }
    return out;
}

}  // namespace jitsu::xenstored::testing
