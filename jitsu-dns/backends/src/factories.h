#pragma once
// Constructors of the concrete backends, for make_backend (each in its own file).

#include <memory>

#include "jitsu_dns/backends.h"

namespace jitsu::dns::detail {

std::unique_ptr<backend> make_netns_backend(const backend_options& options);
std::unique_ptr<backend> make_libvirt_backend(const backend_options& options);
std::unique_ptr<backend> make_libxl_backend(const backend_options& options);

}  // namespace jitsu::dns::detail
