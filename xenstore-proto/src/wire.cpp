#include "xenstore/wire.h"

#include <cerrno>
#include <charconv>
#include <cstring>

namespace jitsu::xenstore {

namespace {

constexpr std::array<std::string_view, XS_TYPE_COUNT> type_names = [] {
    std::array<std::string_view, XS_TYPE_COUNT> n{};
    n[XS_CONTROL] = "XS_CONTROL";
    n[XS_DIRECTORY] = "XS_DIRECTORY";
    n[XS_READ] = "XS_READ";
    n[XS_GET_PERMS] = "XS_GET_PERMS";
    n[XS_WATCH] = "XS_WATCH";
    n[XS_UNWATCH] = "XS_UNWATCH";
    n[XS_TRANSACTION_START] = "XS_TRANSACTION_START";
    n[XS_TRANSACTION_END] = "XS_TRANSACTION_END";
    n[XS_INTRODUCE] = "XS_INTRODUCE";
    n[XS_RELEASE] = "XS_RELEASE";
    n[XS_GET_DOMAIN_PATH] = "XS_GET_DOMAIN_PATH";
    n[XS_WRITE] = "XS_WRITE";
    n[XS_MKDIR] = "XS_MKDIR";
    n[XS_RM] = "XS_RM";
    n[XS_SET_PERMS] = "XS_SET_PERMS";
    n[XS_WATCH_EVENT] = "XS_WATCH_EVENT";
    n[XS_ERROR] = "XS_ERROR";
    n[XS_IS_DOMAIN_INTRODUCED] = "XS_IS_DOMAIN_INTRODUCED";
    n[XS_RESUME] = "XS_RESUME";
    n[XS_SET_TARGET] = "XS_SET_TARGET";
    n[XS_SET_TARGET + 1] = "XS_RESTRICT";
    n[XS_RESET_WATCHES] = "XS_RESET_WATCHES";
    n[XS_DIRECTORY_PART] = "XS_DIRECTORY_PART";
    return n;
}();

}  // namespace

std::string_view type_name(std::uint32_t type) {
    if (type < type_names.size() && !type_names[type].empty()) return type_names[type];
    return "XS_UNKNOWN";
}

std::string_view error_name(int errnum) {
    for (const auto& e : xsd_errors) {
        if (e.errnum == errnum) return e.errstring;
    }
    return "EINVAL";
}

int error_number(std::string_view name) {
    for (const auto& e : xsd_errors) {
        if (name == e.errstring) return e.errnum;
    }
    return EINVAL;
}

// Xenstore's socket protocol is native-endian: memcpy the four fields.
std::array<std::uint8_t, header_size> encode_header(const header& h) {
    std::array<std::uint8_t, header_size> out{};
    std::memcpy(out.data(), &h, header_size);
    return out;
}

header decode_header(std::span<const std::uint8_t, header_size> bytes) {
    header h{};
    std::memcpy(&h, bytes.data(), header_size);
    return h;
}

frame parse_frame(std::span<const std::uint8_t> buffer) {
    frame f;
    if (buffer.size() < header_size) return f;
    f.hdr = decode_header(buffer.first<header_size>());
    if (f.hdr.len > payload_max) {
        f.status = frame_status::oversized;
        return f;
    }
    if (buffer.size() - header_size < f.hdr.len) return f;
    f.status = frame_status::complete;
    f.payload = buffer.subspan(header_size, f.hdr.len);
    f.consumed = header_size + f.hdr.len;
    return f;
}

std::optional<std::string_view> payload_reader::next_string() {
    // memchr on a null pointer is undefined even for length 0 (a default span).
    if (rest_.empty()) return std::nullopt;
    const void* nul = std::memchr(rest_.data(), 0, rest_.size());
    if (nul == nullptr) return std::nullopt;
    auto len = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - rest_.data());
    std::string_view s(reinterpret_cast<const char*>(rest_.data()), len);
    rest_ = rest_.subspan(len + 1);
    return s;
}

std::string_view payload_reader::rest() const {
    if (rest_.empty()) return {};
    return {reinterpret_cast<const char*>(rest_.data()), rest_.size()};
}

std::vector<std::string_view> split_strings(std::string_view payload) {
    std::vector<std::string_view> out;
    while (!payload.empty()) {
        auto nul = payload.find('\0');
        if (nul == std::string_view::npos) {
            out.push_back(payload);
            break;
        }
        out.push_back(payload.substr(0, nul));
        payload.remove_prefix(nul + 1);
    }
    return out;
}

message_builder::message_builder(std::uint32_t type, std::uint32_t req_id, std::uint32_t tx_id)
    : bytes_(header_size) {
    header h{type, req_id, tx_id, 0};
    std::memcpy(bytes_.data(), &h, header_size);
}

message_builder& message_builder::add_string(std::string_view s) {
    add_raw(s);
    bytes_.push_back(0);
    return *this;
}

message_builder& message_builder::add_raw(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
}

std::vector<std::uint8_t> message_builder::finish() {
    auto len = static_cast<std::uint32_t>(payload_size());
    std::memcpy(bytes_.data() + offsetof(header, len), &len, sizeof len);
    return std::move(bytes_);
}

std::vector<std::uint8_t> make_message(std::uint32_t type, std::uint32_t req_id,
                                       std::uint32_t tx_id, std::string_view raw_payload) {
    return message_builder(type, req_id, tx_id).add_raw(raw_payload).finish();
}

std::vector<std::uint8_t> make_error(std::uint32_t req_id, std::uint32_t tx_id, int errnum) {
    return message_builder(XS_ERROR, req_id, tx_id).add_string(error_name(errnum)).finish();
}

std::vector<std::uint8_t> make_watch_event(std::string_view path, std::string_view token) {
    return message_builder(XS_WATCH_EVENT, watch_event_req_id, 0)
        .add_string(path)
        .add_string(token)
        .finish();
}

std::optional<permission> parse_permission(std::string_view s) {
    if (s.size() < 2) return std::nullopt;
    permission p;
    switch (s[0]) {
        case 'n':
            p.perm = access::none;
            break;
        case 'r':
            p.perm = access::read;
            break;
        case 'w':
            p.perm = access::write;
            break;
        case 'b':
            p.perm = access::both;
            break;
        default:
            return std::nullopt;
    }
    auto digits = s.substr(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p.domid);
    if (ec != std::errc{} || end != digits.data() + digits.size() || p.domid > 0xffff) {
        return std::nullopt;
    }
    return p;
}

std::string format_permission(const permission& p) {
    return static_cast<char>(p.perm) + std::to_string(p.domid);
}

}  // namespace jitsu::xenstore
