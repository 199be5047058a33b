#pragma once
// fmt formatters so address types can be logged directly: spdlog::info("{} is at {}",
// ip, mac). Kept apart from the value-type headers so those do not pull in fmt.

#include <fmt/format.h>

#include <string_view>

#include "common/ip_address.h"
#include "common/ipv4_address.h"
#include "common/ipv6_address.h"
#include "common/mac_address.h"

namespace jitsu::detail {

// Formats through the type's allocation-free format_to.
template <typename Address, std::size_t Capacity>
struct address_formatter : fmt::formatter<std::string_view> {
    template <typename FormatContext>
    auto format(const Address& a, FormatContext& ctx) const {
        char buf[Capacity];
        const std::size_t n = a.format_to(buf);
        return fmt::formatter<std::string_view>::format(std::string_view(buf, n), ctx);
    }
};

}  // namespace jitsu::detail

template <>
struct fmt::formatter<jitsu::mac_address>
    : jitsu::detail::address_formatter<jitsu::mac_address, jitsu::mac_address::string_length> {};
template <>
struct fmt::formatter<jitsu::ipv4_address>
    : jitsu::detail::address_formatter<jitsu::ipv4_address,
                                       jitsu::ipv4_address::max_string_length> {};
template <>
struct fmt::formatter<jitsu::ipv6_address>
    : jitsu::detail::address_formatter<jitsu::ipv6_address,
                                       jitsu::ipv6_address::max_string_length> {};
template <>
struct fmt::formatter<jitsu::ip_address>
    : jitsu::detail::address_formatter<jitsu::ip_address, jitsu::ip_address::max_string_length> {};
template <>
struct fmt::formatter<jitsu::four_tuple> : fmt::formatter<std::string_view> {
    template <typename FormatContext>
    auto format(const jitsu::four_tuple& t, FormatContext& ctx) const {
        return fmt::formatter<std::string_view>::format(t.to_string(), ctx);
    }
};
