#include "fake_xenstored.h"

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>

namespace jitsu::xenstore::testing {

namespace {

using boost::asio::redirect_error;
using boost::asio::use_awaitable;
using store_t = std::map<std::string, std::string>;

bool valid_path(std::string_view p) {
    if (p.empty() || p.size() > abs_path_max) return false;
    if (p.size() > 1 && p.back() == '/') return false;
    if (p.find("//") != std::string_view::npos) return false;
    return std::all_of(p.begin(), p.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '_' ||
               c == '-' || c == '@';
    });
}

std::string canonical(std::string_view p) {
    if (p.starts_with('/')) return std::string(p);
    return "/local/domain/0/" + std::string(p);
}

std::string parent_of(const std::string& p) {
    auto i = p.rfind('/');
    return i == 0 || i == std::string::npos ? "/" : p.substr(0, i);
}

bool exists(const store_t& m, const std::string& p) { return p == "/" || m.contains(p); }

void create(store_t& m, const std::string& p, std::string_view value) {
    for (std::size_t i = 1; (i = p.find('/', i)) != std::string::npos; ++i) {
        m.try_emplace(p.substr(0, i), "");
    }
    m[p] = std::string(value);
}

void remove_tree(store_t& m, const std::string& p) {
    m.erase(p);
    auto prefix = p + "/";
    for (auto it = m.lower_bound(prefix); it != m.end() && it->first.starts_with(prefix);) {
        it = m.erase(it);
    }
}

// Children names, each followed by a NUL, as DIRECTORY sends them.
std::string children_of(const store_t& m, const std::string& p) {
    std::string prefix = p == "/" ? "/" : p + "/";
    std::string out;
    for (auto it = m.lower_bound(prefix); it != m.end() && it->first.starts_with(prefix); ++it) {
        auto rest = std::string_view(it->first).substr(prefix.size());
        if (!rest.empty() && rest.find('/') == std::string_view::npos) {
            out.append(rest);
            out.push_back('\0');
        }
    }
    return out;
}

bool is_subpath(const std::string& parent, const std::string& child) {
    if (parent == "/") return child.starts_with('/');
    if (!child.starts_with(parent)) return false;
    return child.size() == parent.size() || child[parent.size()] == '/';
}

void append(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& more) {
    out.insert(out.end(), more.begin(), more.end());
}

}  // namespace

struct fake_xenstored::session {
    session(asio::local::stream_protocol::socket s, std::uint32_t i)
        : socket(std::move(s)), id(i) {}
    asio::local::stream_protocol::socket socket;
    std::uint32_t id;
    std::deque<std::vector<std::uint8_t>> out;
    bool writing = false;
    bool closed = false;
    std::vector<std::pair<std::string, std::string>> watches;  // (path as given, token)

    static void write_next(const std::shared_ptr<session>& s) {
        s->writing = true;
        asio::async_write(s->socket, asio::buffer(s->out.front()),
                          [s](boost::system::error_code ec, std::size_t) {
                              s->out.pop_front();
                              if (ec || s->closed) {
                                  s->out.clear();
                                  s->writing = false;
                                  return;
                              }
                              if (s->out.empty()) {
                                  s->writing = false;
                                  return;
                              }
                              write_next(s);
                          });
    }
};

fake_xenstored::fake_xenstored(asio::any_io_executor ex, std::string socket_path)
    : ex_(std::move(ex)), path_(std::move(socket_path)), acceptor_(ex_) {}

fake_xenstored::~fake_xenstored() { stop(); }

void fake_xenstored::start() {
    std::remove(path_.c_str());
    asio::local::stream_protocol::endpoint ep(path_);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    running_ = true;
    asio::co_spawn(ex_, accept_loop(), asio::detached);
}

void fake_xenstored::stop() {
    running_ = false;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    drop_connections();
    std::remove(path_.c_str());
}

void fake_xenstored::drop_connections() {
    auto all = sessions_;
    for (auto& s : all) close_session(s);
    held_.clear();
}

void fake_xenstored::send_raw(const std::vector<std::uint8_t>& bytes) {
    auto all = sessions_;
    for (auto& s : all) send(s, bytes);
}

std::size_t fake_xenstored::open_transactions() const { return txs_.size(); }

std::size_t fake_xenstored::count(std::uint32_t type) const {
    return static_cast<std::size_t>(
        std::count_if(log.begin(), log.end(), [type](const auto& r) { return r.type == type; }));
}

void fake_xenstored::release_held(bool reverse) {
    auto batch = std::move(held_);
    held_.clear();
    if (reverse) std::reverse(batch.begin(), batch.end());
    for (auto& h : batch) {
        auto s = h.who.lock();
        if (!s || s->closed) continue;
        send(s, answer(s->id, h.hdr, h.payload));
    }
}

asio::awaitable<void> fake_xenstored::accept_loop() {
    for (;;) {
        boost::system::error_code ec;
        auto sock = co_await acceptor_.async_accept(redirect_error(use_awaitable, ec));
        if (ec || !running_) co_return;
        auto s = std::make_shared<session>(std::move(sock), next_session_++);
        ++accepted_;
        sessions_.push_back(s);
        asio::co_spawn(ex_, session_loop(s), asio::detached);
    }
}

asio::awaitable<void> fake_xenstored::session_loop(std::shared_ptr<session> s) {
    std::vector<std::uint8_t> buf;
    std::array<std::uint8_t, 8192> chunk{};
    for (;;) {
        boost::system::error_code ec;
        auto n = co_await s->socket.async_read_some(asio::buffer(chunk),
                                                    redirect_error(use_awaitable, ec));
        if (s->closed) co_return;
        if (ec) {
            close_session(s);
            co_return;
        }
        buf.insert(buf.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        std::size_t off = 0;
        for (;;) {
            auto f = parse_frame(std::span<const std::uint8_t>(buf).subspan(off));
            if (f.status == frame_status::need_more) break;
            if (f.status == frame_status::oversized) {
                close_session(s);
                co_return;
            }
            handle(s, f.hdr, {reinterpret_cast<const char*>(f.payload.data()), f.payload.size()});
            if (s->closed) co_return;
            off += f.consumed;
        }
        buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(off));
    }
}

void fake_xenstored::close_session(const std::shared_ptr<session>& s) {
    if (s->closed) return;
    s->closed = true;
    boost::system::error_code ignored;
    s->socket.close(ignored);
    std::erase(sessions_, s);
    std::erase_if(txs_, [&](const auto& kv) { return kv.second.session_id == s->id; });
}

void fake_xenstored::send(const std::shared_ptr<session>& s, std::vector<std::uint8_t> bytes) {
    if (s->closed || bytes.empty()) return;
    s->out.push_back(std::move(bytes));
    if (!s->writing) session::write_next(s);
}

void fake_xenstored::handle(const std::shared_ptr<session>& s, const header& h,
                            std::string_view payload) {
    payload_reader r(payload);
    auto first = r.next_string();
    log.push_back({h.type, h.tx_id, std::string(first.value_or(""))});
    if (intercept) {
        if (auto custom = intercept(h, payload)) {
            send(s, std::move(*custom));
            return;
        }
    }
    if (hold) {
        held_.push_back({s, h, std::string(payload)});
        max_held_ = std::max(max_held_, held_.size());
        return;
    }
    send(s, answer(s->id, h, payload));
}

void fake_xenstored::fire(const std::string& path, bool removed) {
    auto all = sessions_;
    for (auto& s : all) {
        for (const auto& [wpath, token] : s->watches) {
            auto w = canonical(wpath);
            if (is_subpath(w, path)) {
                send(s, make_watch_event(path, token));
            } else if (removed && is_subpath(path, w)) {
                send(s, make_watch_event(wpath, token));
            }
        }
    }
}

std::vector<std::uint8_t> fake_xenstored::answer(std::uint32_t session_id, const header& h,
                                                 std::string_view payload) {
    payload_reader r(payload);
    auto reply = [&](std::string_view body) {
        return make_message(h.type, h.req_id, h.tx_id, body);
    };
    auto ok = [&] { return reply(std::string_view("OK", 3)); };
    auto err = [&](int e) { return make_error(h.req_id, h.tx_id, e); };

    store_t* store = &nodes;
    tx_state* tx = nullptr;
    switch (h.type) {
        case XS_READ:
        case XS_WRITE:
        case XS_MKDIR:
        case XS_RM:
        case XS_DIRECTORY:
        case XS_DIRECTORY_PART:
        case XS_GET_PERMS:
        case XS_SET_PERMS:
            if (h.tx_id != 0) {
                auto it = txs_.find(h.tx_id);
                if (it == txs_.end() || it->second.session_id != session_id) return err(ENOENT);
                tx = &it->second;
                store = &tx->nodes;
            }
            break;
        default:
            break;
    }
    auto changed = [&](const std::string& p, bool removed) {
        if (tx != nullptr) {
            tx->changed.emplace_back(p, removed);
        } else {
            ++generation_;
            fire(p, removed);
        }
    };
    auto path_arg = [&]() -> std::optional<std::string> {
        auto p = r.next_string();
        if (!p || !valid_path(*p) || p->starts_with('@')) return std::nullopt;
        return canonical(*p);
    };

    switch (h.type) {
        case XS_READ: {
            auto p = path_arg();
            if (!p) return err(EINVAL);
            if (!exists(*store, *p)) return err(ENOENT);
            auto it = store->find(*p);
            return reply(it == store->end() ? std::string_view() : std::string_view(it->second));
        }
        case XS_WRITE: {
            auto p = path_arg();
            if (!p) return err(EINVAL);
            create(*store, *p, r.rest());
            changed(*p, false);
            return ok();
        }
        case XS_MKDIR: {
            auto p = path_arg();
            if (!p) return err(EINVAL);
            if (!exists(*store, *p)) create(*store, *p, "");
            changed(*p, false);
            return ok();
        }
        case XS_RM: {
            auto p = path_arg();
            if (!p || *p == "/") return err(EINVAL);
            if (!exists(*store, *p)) return exists(*store, parent_of(*p)) ? ok() : err(ENOENT);
            remove_tree(*store, *p);
            changed(*p, true);
            return ok();
        }
        case XS_DIRECTORY: {
            auto p = path_arg();
            if (!p) return err(EINVAL);
            if (!exists(*store, *p)) return err(ENOENT);
            auto children = children_of(*store, *p);
            if (children.size() > directory_limit) return err(E2BIG);
            return reply(children);
        }
        case XS_DIRECTORY_PART: {
            auto p = path_arg();
            auto off_text = r.next_string();
            if (!p || !off_text) return err(EINVAL);
            std::size_t off = 0;
            auto [end, ec] =
                std::from_chars(off_text->data(), off_text->data() + off_text->size(), off);
            if (ec != std::errc{} || end != off_text->data() + off_text->size()) {
                return err(EINVAL);
            }
            if (!exists(*store, *p)) return err(ENOENT);
            auto children = children_of(*store, *p);
            if (off > children.size()) return err(EINVAL);
            std::size_t len = 0;
            while (off + len < children.size()) {
                auto name_len = children.find('\0', off + len) - (off + len) + 1;
                if (len + name_len > directory_page) break;
                len += name_len;
            }
            std::string body = std::to_string(generation_);
            body.push_back('\0');
            body.append(children, off, len);
            body.push_back('\0');
            return reply(body);
        }
        case XS_GET_PERMS: {
            auto p = path_arg();
            if (!p) return err(EINVAL);
            if (!exists(*store, *p)) return err(ENOENT);
            auto it = perms_.find(*p);
            std::vector<std::string> list =
                it == perms_.end() ? std::vector<std::string>{"n0"} : it->second;
            std::string body;
            for (const auto& s : list) body.append(s).push_back('\0');
            return reply(body);
        }
        case XS_SET_PERMS: {
            auto p = path_arg();
            if (!p) return err(EINVAL);
            if (!exists(*store, *p)) return err(ENOENT);
            std::vector<std::string> list;
            while (auto s = r.next_string()) {
                auto perm = parse_permission(*s);
                if (!perm) return err(EINVAL);
                list.push_back(format_permission(*perm));
            }
            if (list.empty()) return err(EINVAL);
            perms_[*p] = std::move(list);
            changed(*p, false);
            return ok();
        }
        case XS_WATCH: {
            auto p = r.next_string();
            auto token = r.next_string();
            if (!p || !token || !valid_path(*p)) return err(EINVAL);
            auto s = std::find_if(sessions_.begin(), sessions_.end(),
                                  [&](const auto& x) { return x->id == session_id; });
            if (s == sessions_.end()) return {};
            auto& watches = (*s)->watches;
            std::pair<std::string, std::string> w{std::string(*p), std::string(*token)};
            if (std::find(watches.begin(), watches.end(), w) != watches.end()) return err(EEXIST);
            watches.push_back(w);
            auto out = ok();
            append(out, make_watch_event(*p, *token));  // the initial event, after the ack
            return out;
        }
        case XS_UNWATCH: {
            auto p = r.next_string();
            auto token = r.next_string();
            if (!p || !token) return err(EINVAL);
            auto s = std::find_if(sessions_.begin(), sessions_.end(),
                                  [&](const auto& x) { return x->id == session_id; });
            if (s == sessions_.end()) return {};
            auto& watches = (*s)->watches;
            auto it = std::find(watches.begin(), watches.end(),
                                std::pair<std::string, std::string>{*p, *token});
            if (it == watches.end()) return err(ENOENT);
            watches.erase(it);
            return ok();
        }
        case XS_TRANSACTION_START: {
            if (h.tx_id != 0) return err(EINVAL);
            auto id = next_tx_++;
            txs_[id] = tx_state{nodes, generation_, {}, session_id};
            max_txs_ = std::max(max_txs_, txs_.size());
            auto body = std::to_string(id);
            body.push_back('\0');
            return reply(body);
        }
        case XS_TRANSACTION_END: {
            auto arg = r.next_string();
            auto it = txs_.find(h.tx_id);
            if (it == txs_.end() || it->second.session_id != session_id) return err(ENOENT);
            auto t = std::move(it->second);
            txs_.erase(it);
            if (arg == "F") return ok();
            if (arg != "T") return err(EINVAL);
            if (eagain_commits > 0) {
                --eagain_commits;
                return err(EAGAIN);
            }
            if (t.base_generation != generation_) return err(EAGAIN);
            nodes = std::move(t.nodes);
            ++generation_;
            for (const auto& [p, removed] : t.changed) fire(p, removed);
            return ok();
        }
        case XS_GET_DOMAIN_PATH: {
            auto d = r.next_string();
            if (!d || d->empty()) return err(EINVAL);
            std::string body = "/local/domain/" + std::string(*d);
            body.push_back('\0');
            return reply(body);
        }
        default:
            return err(EINVAL);
    }
}

}  // namespace jitsu::xenstore::testing
