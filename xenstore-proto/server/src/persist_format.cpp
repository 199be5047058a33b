// The persist file's encoding: records, ops, snapshots, and strict loading.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "xenstore/wire.h"
#include "xenstored/path.h"
#include "xenstored/persist.h"

namespace jitsu::xenstored::persist_format {

namespace {

constexpr std::array<std::uint32_t, 256> crc_table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        t[i] = c;
    }
    return t;
}();

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void put_str(std::string& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}

void encode_node(std::string& out, std::string_view path, const node& n) {
    out.push_back('P');
    put_str(out, path);
    put_str(out, n.value);
    put_u32(out, static_cast<std::uint32_t>(n.perms.size()));
    for (const auto& p : n.perms) {
        out.push_back(static_cast<char>(p.perm));
        put_u32(out, p.domid);
    }
    put_str(out, n.children);
}

// Bounds-checked reader over one record's payload.
class reader {
  public:
    explicit reader(std::string_view data) : data_(data) {}
    bool empty() const { return data_.empty(); }
    bool u8(char& c) {
        if (data_.empty()) return false;
        c = data_.front();
        data_.remove_prefix(1);
        return true;
    }
    bool u32(std::uint32_t& v) {
        if (data_.size() < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) {
            v |= static_cast<std::uint32_t>(static_cast<unsigned char>(data_[i])) << (8 * i);
        }
        data_.remove_prefix(4);
        return true;
    }
    bool str(std::string_view& s) {
        std::uint32_t len = 0;
        if (!u32(len) || len > data_.size()) return false;
        s = data_.substr(0, len);
        data_.remove_prefix(len);
        return true;
    }

  private:
    std::string_view data_;
};

std::uint32_t get_u32(std::string_view b) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    }
    return v;
}

bool valid_stored_path(std::string_view path) {
    return is_valid_path(path, xenstore::abs_path_max);
}

// Applies one record's ops; false if malformed.
bool apply_ops(std::string_view payload, store& s) {
    reader in(payload);
    while (!in.empty()) {
        char op = 0;
        std::string_view path;
        if (!in.u8(op) || !in.str(path) || !valid_stored_path(path)) return false;
        if (op == 'D') {
            s.erase(path);
            continue;
        }
        if (op != 'P') return false;
        node n;
        std::string_view value, children;
        std::uint32_t count = 0;
        if (!in.str(value) || !in.u32(count) || count == 0 || count > 0xFFFF) return false;
        n.value.assign(value);
        n.perms.reserve(count);
        for (std::uint32_t i = 0; i < count; ++i) {
            char letter = 0;
            std::uint32_t domid = 0;
            if (!in.u8(letter) || !in.u32(domid)) return false;
            if ((letter != 'n' && letter != 'r' && letter != 'w' && letter != 'b') ||
                domid > 0xFFFF) {
                return false;
            }
            n.perms.push_back(permission{static_cast<access>(letter), domid});
        }
        if (!in.str(children)) return false;
        if (!children.empty() && children.back() != '\0') return false;
        n.children.assign(children);
        s.replace(path, std::move(n));
    }
    return true;
}

}  // namespace

std::uint32_t crc32c(std::string_view data) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : data) c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

void encode_ops(const store& s, const std::vector<std::string>& paths, std::string& out) {
    for (const auto& path : paths) {
        if (const node* n = s.find(path)) {
            encode_node(out, path, *n);
        } else {
            out.push_back('D');
            put_str(out, path);
        }
    }
}

void append_record(std::string_view payload, std::string& out) {
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    put_u32(out, crc32c(payload));
    out.append(payload);
}

std::string snapshot(const store& s) {
    std::string file(magic);
    std::string payload;
    constexpr std::size_t record_target = 1 << 20;
    // Depth first from the root, parents before children, in children-list order.
    std::vector<std::string> stack{std::string(root_path)};
    while (!stack.empty()) {
        std::string path = std::move(stack.back());
        stack.pop_back();
        const node* n = s.find(path);
        if (n == nullptr) continue;
        encode_node(payload, path, *n);
        std::vector<std::string> kids;
        for_each_child(n->children,
                       [&](std::string_view c) { kids.push_back(child_path(path, c)); });
        for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back(std::move(*it));
        if (payload.size() >= record_target) {
            append_record(payload, file);
            payload.clear();
        }
    }
    if (!payload.empty()) append_record(payload, file);
    return file;
}

namespace {

// Whether some prefix of `present` has checksum `crc`: then the record's length field was
// damaged (the whole payload is there, followed by more bytes), which is corruption, not
// a write cut short. A cut write holds a strict prefix of a payload whose checksum covers
// all of it, so no prefix matches (but by a 2^-32 chance per byte, which refuses a file
// that could have loaded: the safe side).
bool some_prefix_has_crc(std::string_view present, std::uint32_t crc) {
    std::uint32_t c = 0xFFFFFFFFu;
    if ((c ^ 0xFFFFFFFFu) == crc) return true;
    for (unsigned char b : present) {
        c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
        if ((c ^ 0xFFFFFFFFu) == crc) return true;
    }
    return false;
}

}  // namespace

store load(std::string_view bytes, torn_tail* dropped) {
    if (bytes.size() < magic.size() || bytes.substr(0, magic.size()) != magic) {
        throw persist_error("not a jitsu-xenstored store (bad magic)");
    }
    store s{store::empty_tag{}};
    std::size_t off = magic.size();
    while (off < bytes.size()) {
        const std::size_t left = bytes.size() - off;
        if (left < record_header_size) {
            if (dropped == nullptr) {
                throw persist_error(fmt::format("torn record header at offset {}", off));
            }
            *dropped = torn_tail{off, record_header_size, left};
            break;
        }
        const std::uint32_t len = get_u32(bytes.substr(off, 4));
        const std::uint32_t crc = get_u32(bytes.substr(off + 4, 4));
        if (len > left - record_header_size) {
            const std::string_view present = bytes.substr(off + record_header_size);
            if (dropped == nullptr || some_prefix_has_crc(present, crc)) {
                throw persist_error(fmt::format(
                    "torn record at offset {} ({} bytes announced, {} present){}", off, len,
                    present.size(), dropped == nullptr ? "" : ": its length field is damaged"));
            }
            *dropped = torn_tail{off, record_header_size + len, left};
            break;
        }
        const std::string_view payload = bytes.substr(off + record_header_size, len);
        if (crc32c(payload) != crc) {
            throw persist_error(fmt::format("checksum mismatch in record at offset {}", off));
        }
        if (!apply_ops(payload, s)) {
            throw persist_error(fmt::format("malformed record at offset {}", off));
        }
        off += record_header_size + len;
    }
    if (auto problem = s.check_consistency()) {
        throw persist_error("inconsistent tree: " + *problem);
    }
    return s;
}

}  // namespace jitsu::xenstored::persist_format
