// The public operations: each builds its request(s) eagerly (so string_view arguments
// need not outlive the call), then returns a coroutine that awaits the reply and
// parses it.
#include "xenstore/client.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>

#include "client_impl.h"

namespace jitsu::xenstore {

namespace {

using self_ptr = client_impl::self_ptr;

class client_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "xenstore.client"; }
    std::string message(int ev) const override {
        switch (static_cast<client_errc>(ev)) {
            case client_errc::not_connected:
                return "not connected to xenstored";
            case client_errc::connection_lost:
                return "connection to xenstored lost";
            case client_errc::closed:
                return "xenstore client closed";
            case client_errc::timeout:
                return "xenstore request timed out";
            case client_errc::protocol_error:
                return "xenstore protocol error";
            case client_errc::bad_reply:
                return "malformed xenstore reply";
            case client_errc::transaction_lost:
                return "transaction lost to a reconnect";
            case client_errc::queue_full:
                return "xenstore send queue full";
            case client_errc::connect_in_progress:
                return "connect already in progress";
        }
        return "unknown xenstore client error";
    }
};

// Directory paging stops after this many pages (a server that never finishes).
constexpr int max_directory_pages = 4096;
constexpr int max_directory_restarts = 16;

std::string_view strip_nul(std::string_view s) {
    if (!s.empty() && s.back() == '\0') s.remove_suffix(1);
    return s;
}

std::vector<std::string> names_of(std::string_view payload) {
    std::vector<std::string> out;
    for (auto n : split_strings(payload)) {
        if (!n.empty()) out.emplace_back(n);
    }
    return out;
}

asio::awaitable<result<void>> ack_op(self_ptr self, outgoing msg, tx_id tx) {
    auto r = co_await client_impl::request(std::move(self), std::move(msg), tx);
    if (r.ec) co_return r.ec;
    co_return result<void>{};
}

asio::awaitable<result<std::string>> value_op(self_ptr self, outgoing msg, tx_id tx, bool strip) {
    auto r = co_await client_impl::request(std::move(self), std::move(msg), tx);
    if (r.ec) co_return r.ec;
    if (strip) co_return std::string(strip_nul(r.payload));
    co_return std::move(r.payload);
}

asio::awaitable<result<std::vector<std::string>>> directory_paged(self_ptr self, std::string path,
                                                                  tx_id tx) {
    std::vector<std::string> names;
    std::string generation;
    std::size_t offset = 0;
    int restarts = 0;
    for (int page = 0; page < max_directory_pages; ++page) {
        auto msg = self->build(XS_DIRECTORY_PART, tx, {path, std::to_string(offset)});
        auto r = co_await client_impl::request(self, std::move(msg), tx);
        if (r.ec) co_return r.ec;
        // <generation>\0 <child>\0 ... \0 — an empty page (just the final NUL) ends it.
        payload_reader pr(r.payload);
        auto gen = pr.next_string();
        auto rest = pr.rest();
        if (!gen || rest.empty() || rest.back() != '\0') co_return client_errc::bad_reply;
        if (offset == 0) {
            generation = *gen;
        } else if (*gen != generation) {  // the node changed between pages: start over
            if (++restarts > max_directory_restarts) co_return xs_error(EAGAIN);
            names.clear();
            offset = 0;
            continue;
        }
        rest.remove_suffix(1);
        if (rest.empty()) co_return names;
        for (auto n : split_strings(rest)) {
            if (!n.empty()) names.emplace_back(n);
        }
        offset += rest.size();
    }
    co_return client_errc::bad_reply;
}

asio::awaitable<result<std::vector<std::string>>> directory_op(self_ptr self, std::string path,
                                                               outgoing msg, tx_id tx) {
    auto r = co_await client_impl::request(self, std::move(msg), tx);
    if (!r.ec) co_return names_of(r.payload);
    if (r.ec != xs_error(E2BIG)) co_return r.ec;
    co_return co_await directory_paged(std::move(self), std::move(path), tx);
}

asio::awaitable<result<std::vector<permission>>> get_perms_op(self_ptr self, outgoing msg,
                                                              tx_id tx) {
    auto r = co_await client_impl::request(std::move(self), std::move(msg), tx);
    if (r.ec) co_return r.ec;
    std::vector<permission> perms;
    for (auto s : split_strings(r.payload)) {
        auto p = parse_permission(s);
        if (!p) co_return client_errc::bad_reply;
        perms.push_back(*p);
    }
    co_return perms;
}

asio::awaitable<result<tx_id>> transaction_start_op(self_ptr self) {
    auto slot = co_await client_impl::acquire_tx_slot(self);
    if (!slot) co_return slot.error();
    const tx_id starting{0, *slot};
    // (Built outside the co_await: GCC 12 mishandles an initializer_list inside one.)
    auto msg = self->build(XS_TRANSACTION_START, {}, {""});
    auto r = co_await client_impl::request(self, std::move(msg), {});
    if (r.ec) {
        self->release_tx_slot(starting);
        co_return r.ec;
    }
    auto digits = strip_nul(r.payload);
    std::uint32_t id = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc{} || end != digits.data() + digits.size() || id == 0 ||
        r.connection != *slot) {
        self->release_tx_slot(starting);
        co_return client_errc::bad_reply;
    }
    tx_id tx{id, r.connection};
    self->tx_started(tx);
    co_return tx;
}

asio::awaitable<result<void>> transaction_end_op(self_ptr self, tx_id tx, bool commit) {
    if (!tx) co_return xs_error(EINVAL);
    auto msg = self->build(XS_TRANSACTION_END, tx, {commit ? "T" : "F"});
    auto r = co_await client_impl::request(self, std::move(msg), tx);
    // Whatever the answer (EAGAIN included), the server has forgotten the transaction.
    // Only a lost connection leaves it unknown, and that frees every slot anyway.
    self->release_tx_slot(tx);
    if (r.ec) co_return r.ec;
    co_return result<void>{};
}

asio::awaitable<result<void>> first_error_op(self_ptr self, std::vector<outgoing> msgs, tx_id tx) {
    auto replies = co_await client_impl::request_many(std::move(self), std::move(msgs), tx);
    if (!replies) co_return replies.error();
    for (const auto& r : *replies) {
        if (r.ec) co_return r.ec;
    }
    co_return result<void>{};
}

asio::awaitable<result<std::vector<result<std::string>>>> read_many_op(self_ptr self,
                                                                       std::vector<outgoing> msgs,
                                                                       tx_id tx) {
    auto replies = co_await client_impl::request_many(std::move(self), std::move(msgs), tx);
    if (!replies) co_return replies.error();
    std::vector<result<std::string>> out;
    out.reserve(replies->size());
    for (auto& r : *replies) {
        if (r.ec) {
            out.emplace_back(r.ec);
        } else {
            out.emplace_back(std::move(r.payload));
        }
    }
    co_return out;
}

bool retryable(std::error_code ec) {
    return ec == xs_error(EAGAIN) || ec == client_errc::transaction_lost;
}

asio::awaitable<result<void>> transact_op(self_ptr self, client::transaction_body body,
                                          int max_attempts) {
    std::error_code last = xs_error(EAGAIN);
    for (int attempt = 0; attempt < std::max(1, max_attempts); ++attempt) {
        auto tx = co_await transaction_start_op(self);
        if (!tx) co_return tx.error();

        result<void> r;
        std::exception_ptr thrown;
        try {
            r = co_await body(*tx);
        } catch (...) {
            thrown = std::current_exception();
        }
        if (thrown) {
            (void)co_await transaction_end_op(self, *tx, false);
            std::rethrow_exception(thrown);
        }
        if (!r) {
            (void)co_await transaction_end_op(self, *tx, false);
            if (!retryable(r.error())) co_return r;
            last = r.error();
            continue;
        }
        auto end = co_await transaction_end_op(self, *tx, true);
        if (end || !retryable(end.error())) co_return end;
        last = end.error();
    }
    co_return last;
}

}  // namespace

const std::error_category& client_category() noexcept {
    static const client_category_impl category;
    return category;
}

std::string default_socket_path() {
    if (const char* p = std::getenv("XENSTORED_PATH"); p != nullptr && *p != '\0') return p;
    if (const char* d = std::getenv("XENSTORED_RUNDIR"); d != nullptr && *d != '\0') {
        return std::string(d) + "/socket";
    }
    return "/run/xenstored/socket";
}

client::client(asio::any_io_executor ex, client_options options)
    : impl_(std::make_shared<client_impl>(std::move(ex), std::move(options))) {}

client::~client() {
    if (impl_) impl_->close();
}

asio::awaitable<result<void>> client::connect() { return client_impl::connect(impl_); }
void client::close() { impl_->close(); }
bool client::connected() const { return impl_->connected(); }
void client::on_state(state_handler handler) { impl_->on_state(std::move(handler)); }
const client_options& client::options() const { return impl_->options(); }
const asio::any_io_executor& client::get_executor() const { return impl_->executor(); }
client_stats client::stats() const { return impl_->stats(); }

asio::awaitable<result<std::string>> client::read(std::string_view path, tx_id tx) {
    return value_op(impl_, impl_->build(XS_READ, tx, {path}), tx, false);
}

asio::awaitable<result<void>> client::write(std::string_view path, std::string_view value,
                                            tx_id tx) {
    return ack_op(impl_, impl_->build(XS_WRITE, tx, {path}, value), tx);
}

asio::awaitable<result<void>> client::mkdir(std::string_view path, tx_id tx) {
    return ack_op(impl_, impl_->build(XS_MKDIR, tx, {path}), tx);
}

asio::awaitable<result<void>> client::rm(std::string_view path, tx_id tx) {
    return ack_op(impl_, impl_->build(XS_RM, tx, {path}), tx);
}

asio::awaitable<result<std::vector<std::string>>> client::directory(std::string_view path,
                                                                    tx_id tx) {
    return directory_op(impl_, std::string(path), impl_->build(XS_DIRECTORY, tx, {path}), tx);
}

asio::awaitable<result<std::vector<permission>>> client::get_perms(std::string_view path,
                                                                   tx_id tx) {
    return get_perms_op(impl_, impl_->build(XS_GET_PERMS, tx, {path}), tx);
}

asio::awaitable<result<void>> client::set_perms(std::string_view path,
                                                std::span<const permission> perms, tx_id tx) {
    std::vector<std::string> texts;
    texts.reserve(perms.size());
    for (const auto& p : perms) texts.push_back(format_permission(p));
    std::vector<std::string_view> strings{path};
    strings.insert(strings.end(), texts.begin(), texts.end());
    return ack_op(impl_, impl_->build(XS_SET_PERMS, tx, strings), tx);
}

asio::awaitable<result<std::string>> client::get_domain_path(std::uint32_t domid) {
    return value_op(impl_, impl_->build(XS_GET_DOMAIN_PATH, {}, {std::to_string(domid)}), {}, true);
}

asio::awaitable<result<void>> client::write_many(std::span<const string_pair> writes, tx_id tx) {
    std::vector<outgoing> msgs;
    msgs.reserve(writes.size());
    for (const auto& [path, value] : writes) {
        msgs.push_back(impl_->build(XS_WRITE, tx, {path}, value));
    }
    return first_error_op(impl_, std::move(msgs), tx);
}

asio::awaitable<result<void>> client::submit(std::span<const batch_op> ops, tx_id tx) {
    std::vector<outgoing> msgs;
    msgs.reserve(ops.size());
    for (const auto& op : ops) {
        switch (op.op) {
            case batch_op::kind::write:
                msgs.push_back(impl_->build(XS_WRITE, tx, {op.path}, op.value));
                break;
            case batch_op::kind::mkdir:
                msgs.push_back(impl_->build(XS_MKDIR, tx, {op.path}));
                break;
            case batch_op::kind::rm:
                msgs.push_back(impl_->build(XS_RM, tx, {op.path}));
                break;
        }
    }
    return first_error_op(impl_, std::move(msgs), tx);
}

asio::awaitable<result<std::vector<result<std::string>>>> client::read_many(
    std::span<const std::string_view> paths, tx_id tx) {
    std::vector<outgoing> msgs;
    msgs.reserve(paths.size());
    for (auto path : paths) msgs.push_back(impl_->build(XS_READ, tx, {path}));
    return read_many_op(impl_, std::move(msgs), tx);
}

asio::awaitable<result<tx_id>> client::transaction_start() { return transaction_start_op(impl_); }

asio::awaitable<result<void>> client::transaction_end(tx_id tx, bool commit) {
    return transaction_end_op(impl_, tx, commit);
}

asio::awaitable<result<void>> client::transact(transaction_body body, int max_attempts) {
    return transact_op(impl_, std::move(body), max_attempts);
}

asio::awaitable<result<void>> client::watch(std::string path, std::string token,
                                            watch_handler handler) {
    return client_impl::watch(impl_, std::move(path), std::move(token), std::move(handler));
}

asio::awaitable<result<void>> client::unwatch(std::string_view path, std::string_view token) {
    return client_impl::unwatch(impl_, std::string(path), std::string(token));
}

}  // namespace jitsu::xenstore
