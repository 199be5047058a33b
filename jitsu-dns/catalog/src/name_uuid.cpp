// Default VM identity: a version-5 (SHA-1, name-based) UUID of the VM's name, so
// /jitsu/vm/<uuid> stays the same across jitsu-dns restarts without a uuid= key.
#include <uuid/uuid.h>

#include <array>
#include <string>

#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

// jitsu-dns's namespace for name-based VM UUIDs (random, fixed forever: changing it
// would change every derived VM identity).
constexpr char namespace_uuid[] = "9ff5b775-314d-4272-8d7e-f6f8ec5bb107";

}  // namespace

std::string name_based_uuid(std::string_view name) {
    uuid_t ns;
    uuid_t out;
    if (uuid_parse(namespace_uuid, ns) != 0) throw std::logic_error("bad namespace UUID");
    uuid_generate_sha1(out, ns, name.data(), name.size());
    std::array<char, 37> text{};
    uuid_unparse_lower(out, text.data());
    return std::string(text.data(), 36);
}

}  // namespace jitsu::dns
