// Xenstore node names: xenstored's validity rules and relative-path canonicalisation.
//
// A valid node name is absolute, made of [A-Za-z0-9_@/-], has no "//", no trailing
// '/' (except "/" itself), and is at most `path_max` characters once a leading
// "/local/domain/<domid>/" is discounted (xenstored 4.17's is_valid_nodename, with
// the path-max quota, default XENSTORE_REL_PATH_MAX), and never over
// XENSTORE_ABS_PATH_MAX. Names starting with '@' are special watch paths
// (@introduceDomain, @releaseDomain), valid only where the request allows them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace jitsu::xenstored {

inline constexpr std::string_view root_path = "/";

// True if every character is one xenstored accepts in a node name.
bool valid_chars(std::string_view path);

// xenstored's is_valid_nodename (see above).
bool is_valid_path(std::string_view path, std::size_t path_max);

// Length of a leading "/local/domain/<1-5 digits>/" (0 if none): the part not
// counted against path_max.
std::size_t local_domain_prefix(std::string_view path);

// A relative name is resolved under `implicit_path` ("/local/domain/<domid>");
// absolute names and '@' names are returned as they are. The result views either
// `name` or `scratch`.
std::string_view canonicalize(std::string_view implicit_path, std::string_view name,
                              std::string& scratch);

// "/a/b" -> "/a", "/a" -> "/", "/" -> "/".
std::string_view parent_of(std::string_view path);
// "/a/b" -> "b"; "/" -> "".
std::string_view basename_of(std::string_view path);
// True if `path` is `ancestor` or below it; everything is below "/".
bool is_same_or_below(std::string_view path, std::string_view ancestor);
// "/a" + "b" -> "/a/b", "/" + "b" -> "/b".
std::string child_path(std::string_view parent, std::string_view child);

// "/local/domain/<domid>".
std::string domain_path(std::uint32_t domid);

}  // namespace jitsu::xenstored
