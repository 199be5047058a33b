// The Xenstore wire protocol: framing and payload codec.
//
// Every message is a `xsd_sockmsg` header (four native-endian uint32: type, req_id,
// tx_id, len) followed by `len` bytes of payload, at most XENSTORE_PAYLOAD_MAX.
// Payloads are NUL-separated strings; a few end with an unterminated value (WRITE's
// value, READ's reply). The types come from Xen's <xen/io/xs_wire.h>; we never
// redefine them. Nothing here allocates except the std::string/vector builders.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

extern "C" {
#include <xen/io/xs_wire.h>
}

namespace jitsu::xenstore {

using header = xsd_sockmsg;

inline constexpr std::size_t header_size = sizeof(xsd_sockmsg);
inline constexpr std::size_t payload_max = XENSTORE_PAYLOAD_MAX;
inline constexpr std::size_t abs_path_max = XENSTORE_ABS_PATH_MAX;
inline constexpr std::size_t rel_path_max = XENSTORE_REL_PATH_MAX;
static_assert(header_size == 16, "xsd_sockmsg is four uint32");

// The request id xenstored uses for watch events it sends on its own.
inline constexpr std::uint32_t watch_event_req_id = 0;

// "XS_READ" for logs; "XS_UNKNOWN" for anything outside the enum.
std::string_view type_name(std::uint32_t type);

// Errno <-> the name xenstored sends in an XS_ERROR payload ("ENOENT").
// Unknown errno maps to "EINVAL" as xenstored does; unknown names to EINVAL.
std::string_view error_name(int errnum);
int error_number(std::string_view name);

std::array<std::uint8_t, header_size> encode_header(const header& h);
header decode_header(std::span<const std::uint8_t, header_size> bytes);

// Incremental framing over a receive buffer (the Asio examples' request_parser shape):
// `parse_frame(buffer)` tells whether a whole message is there, how long it is, or that
// the header is bad (length over payload_max) — decided from the header alone, before
// anyone allocates for the payload.
enum class frame_status { need_more, complete, oversized };
struct frame {
    frame_status status = frame_status::need_more;
    header hdr{};
    std::span<const std::uint8_t> payload;  // valid while the buffer is
    std::size_t consumed = 0;               // header + payload bytes, when complete
};
frame parse_frame(std::span<const std::uint8_t> buffer);

// Reads NUL-terminated strings out of a payload without copying.
class payload_reader {
  public:
    explicit payload_reader(std::span<const std::uint8_t> payload) : rest_(payload) {}
    explicit payload_reader(std::string_view payload)
        : rest_(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()) {}

    // The next NUL-terminated string; nullopt if no NUL is left (malformed).
    std::optional<std::string_view> next_string();
    // Everything left, unterminated (WRITE's value). A single trailing NUL is kept.
    std::string_view rest() const;
    bool empty() const { return rest_.empty(); }

  private:
    std::span<const std::uint8_t> rest_;
};

// Splits a payload of NUL-terminated strings (DIRECTORY reply, SET_PERMS request).
// A trailing unterminated piece is returned too; an empty payload gives no strings.
std::vector<std::string_view> split_strings(std::string_view payload);

// Builds one message: header + payload. Strings appended with `add_string` get a NUL;
// `add_raw` appends bytes as they are. `finish` fills in len and returns the bytes.
class message_builder {
  public:
    message_builder(std::uint32_t type, std::uint32_t req_id, std::uint32_t tx_id);
    message_builder& add_string(std::string_view s);
    message_builder& add_raw(std::string_view s);
    std::size_t payload_size() const { return bytes_.size() - header_size; }
    // Moves the bytes out: the builder is spent afterwards.
    std::vector<std::uint8_t> finish();

  private:
    std::vector<std::uint8_t> bytes_;
};

// Convenience builders for the common shapes.
std::vector<std::uint8_t> make_message(std::uint32_t type, std::uint32_t req_id,
                                       std::uint32_t tx_id, std::string_view raw_payload);
std::vector<std::uint8_t> make_error(std::uint32_t req_id, std::uint32_t tx_id, int errnum);
std::vector<std::uint8_t> make_watch_event(std::string_view path, std::string_view token);

// One permission entry, as on the wire: a letter and a domid, e.g. "r5", "b0".
// The first entry of a node's list names its owner; its letter is everyone else's access.
enum class access : std::uint8_t { none = 'n', read = 'r', write = 'w', both = 'b' };
struct permission {
    access perm = access::none;
    std::uint32_t domid = 0;
    bool operator==(const permission&) const = default;
};
std::optional<permission> parse_permission(std::string_view s);
std::string format_permission(const permission& p);

}  // namespace jitsu::xenstore
