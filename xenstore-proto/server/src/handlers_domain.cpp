// XS_GET_DOMAIN_PATH, XS_INTRODUCE, XS_RELEASE, XS_RESUME, XS_SET_TARGET,
// XS_IS_DOMAIN_INTRODUCED — without rings: introduced domains are recorded, and
// @introduceDomain / @releaseDomain fire as in xenstored.
#include <cerrno>
#include <string>

#include "handlers.h"
#include "xenstored/path.h"

namespace jitsu::xenstored::detail {

namespace {

// Domain ids from DOMID_FIRST_RESERVED (0x7FF0) on are not real domains.
constexpr long long domid_first_reserved = 0x7FF0;

std::string_view nth_string(std::string_view payload, std::size_t n) {
    xenstore::payload_reader reader(payload);
    std::string_view s;
    for (std::size_t i = 0; i <= n; ++i) s = reader.next_string().value_or(std::string_view{});
    return s;
}

// xenstored's onearg_domain: a non-zero, introduced domain.
int one_domain(request_context& r, std::uint32_t& domid) {
    auto arg = r.one_arg();
    if (!arg) return EINVAL;
    const long long id = parse_atoi(*arg);
    if (id == 0) return EINVAL;
    if (id < 0 || id >= domid_first_reserved) return ENOENT;
    domid = static_cast<std::uint32_t>(id);
    return r.state.domains().is_introduced(domid) ? 0 : ENOENT;
}

}  // namespace

int do_get_domain_path(request_context& r) {
    auto arg = r.one_arg();
    if (!arg) return EINVAL;
    const std::string path = domain_path(static_cast<std::uint32_t>(parse_atoi(*arg)));
    r.reply_parts({path, {"\0", 1}});
    return 0;
}

int do_introduce(request_context& r) {
    // domid NUL gfn NUL event-channel NUL (the ring is not used here).
    if (r.count_strings() < 3) return EINVAL;
    const long long id = parse_atoi(nth_string(r.payload, 0));
    const long long port = parse_atoi(nth_string(r.payload, 2));
    if (port <= 0 || id < 0 || id >= domid_first_reserved) return EINVAL;
    const auto domid = static_cast<std::uint32_t>(id);
    if (r.state.domains().introduce(domid) && domid != 0) {
        r.state.fire_special(introduce_domain_path);
    }
    r.reply_ok();
    return 0;
}

int do_release(request_context& r) {
    std::uint32_t domid = 0;
    if (int err = one_domain(r, domid); err != 0) return err;
    r.state.domains().release(domid);
    r.state.fire_special(release_domain_path);
    r.reply_ok();
    return 0;
}

int do_resume(request_context& r) {
    std::uint32_t domid = 0;
    if (int err = one_domain(r, domid); err != 0) return err;
    r.reply_ok();
    return 0;
}

int do_set_target(request_context& r) {
    if (r.count_strings() < 2) return EINVAL;
    const long long domid = parse_atoi(nth_string(r.payload, 0));
    const long long target = parse_atoi(nth_string(r.payload, 1));
    auto introduced = [&](long long id) {
        return id >= 0 && id < domid_first_reserved &&
               r.state.domains().is_introduced(static_cast<std::uint32_t>(id));
    };
    if (!introduced(domid) || !introduced(target)) return ENOENT;
    r.reply_ok();
    return 0;
}

int do_is_domain_introduced(request_context& r) {
    auto arg = r.one_arg();
    if (!arg) return EINVAL;
    const long long id = parse_atoi(*arg);
    const bool yes =
        id == domid_self || (id >= 0 && id < domid_first_reserved &&
                             r.state.domains().is_introduced(static_cast<std::uint32_t>(id)));
    r.reply_parts({yes ? "T" : "F", {"\0", 1}});
    return 0;
}

}  // namespace jitsu::xenstored::detail
