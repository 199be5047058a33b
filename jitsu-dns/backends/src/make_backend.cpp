#include <fmt/format.h>

#include "factories.h"

namespace jitsu::dns {

std::unique_ptr<backend> make_backend(std::string_view kind, const backend_options& options) {
    if (kind == "netns") return detail::make_netns_backend(options);
    if (kind == "libvirt") return detail::make_libvirt_backend(options);
    if (kind == "libxl") return detail::make_libxl_backend(options);
    throw backend_error(fmt::format("unknown backend \"{}\" (expected netns, libvirt or libxl)",
                                    std::string(kind.substr(0, 64))));
}

}  // namespace jitsu::dns
