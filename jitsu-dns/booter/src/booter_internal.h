#pragma once
// Small helpers shared by booter.cpp and booter_lifecycle.cpp (not part of the API).

#include <chrono>
#include <cstddef>
#include <optional>

#include "common/ip_address.h"
#include "jitsu_dns/vm_spec.h"
#include "jitsu_dns/vm_state.h"

namespace jitsu::dns {

inline double ms_since(steady_time t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// The address synjitsu stands in for: the IPv4 one when the VM has both.
inline std::optional<ip_address> synjitsu_address(const vm_spec& spec) {
    if (spec.ip) return ip_address(*spec.ip);
    if (spec.ip6) return ip_address(*spec.ip6);
    return std::nullopt;
}

// Counts a booter coroutine for shutdown(), which waits until none is left.
struct flow_guard {
    std::size_t& flows;
    explicit flow_guard(std::size_t& f) : flows(f) { ++flows; }
    ~flow_guard() { --flows; }
    flow_guard(const flow_guard&) = delete;
    flow_guard& operator=(const flow_guard&) = delete;
};

}  // namespace jitsu::dns
