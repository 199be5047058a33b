// Errors as values for the Xenstore client.
//
// Server errors arrive as errno names ("ENOENT") and become
// std::error_code(errno, std::generic_category()), so callers compare with
// `r.error() == std::errc::no_such_file_or_directory` (or EAGAIN, EACCES, ...).
// Failures of the client itself (no connection, connection lost, timeout, a
// malformed reply) use client_errc below.
#pragma once

#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace jitsu::xenstore {

enum class client_errc {
    // No connection: connect() never succeeded, or a reconnect is under way.
    // The request was not sent.
    not_connected = 1,
    // The connection dropped after the request was queued or sent: its outcome is
    // unknown (a write may or may not have happened).
    connection_lost,
    // close() was called or the client was destroyed.
    closed,
    // No reply within client_options::request_timeout. The connection stays up.
    timeout,
    // The server sent something that is not the Xenstore protocol (oversized or
    // malformed message, reply of the wrong type, unknown req_id). Reported through
    // on_state() as the reason of the disconnect; requests then see connection_lost.
    protocol_error,
    // The reply arrived but its payload does not parse for this operation
    // (e.g. a non-numeric transaction id).
    bad_reply,
    // The transaction belongs to an earlier connection (the client reconnected since
    // transaction_start). transact() treats it like EAGAIN and retries.
    transaction_lost,
    // More than client_options::max_queued requests are waiting to be sent.
    queue_full,
    // connect() while a connect or background reconnect is already under way.
    connect_in_progress,
};

const std::error_category& client_category() noexcept;

inline std::error_code make_error_code(client_errc e) noexcept {
    return {static_cast<int>(e), client_category()};
}

// A Xenstore error name or errno as an error_code in the generic category.
inline std::error_code xs_error(int errnum) noexcept { return {errnum, std::generic_category()}; }

}  // namespace jitsu::xenstore

template <>
struct std::is_error_code_enum<jitsu::xenstore::client_errc> : std::true_type {};

namespace jitsu::xenstore {

// A value or an error. `value()` on an error throws std::system_error: that is a bug
// in the caller, not a normal path. Check `ok()` / `operator bool` first.
// result<T> has no default state, so `co_spawn(ex, c.read(p), detached)` does not
// compile (Asio 1.74 wants T()); spawn a coroutine returning void around it instead.
template <class T>
class [[nodiscard]] result {
  public:
    result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    // `ec` must be an error (non-zero).
    result(std::error_code ec) : ec_(ec) {}             // NOLINT(google-explicit-constructor)
    result(client_errc e) : ec_(make_error_code(e)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const noexcept { return !ec_ && value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    std::error_code error() const noexcept {
        return ec_ || value_ ? ec_ : make_error_code(client_errc::bad_reply);
    }

    T& value() & {
        check();
        return *value_;
    }
    const T& value() const& {
        check();
        return *value_;
    }
    T&& value() && {
        check();
        return std::move(*value_);
    }
    T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    void check() const {
        if (!ok()) throw std::system_error(error());
    }

    std::error_code ec_;
    std::optional<T> value_;
};

template <>
class [[nodiscard]] result<void> {
  public:
    result() = default;
    result(std::error_code ec) : ec_(ec) {}             // NOLINT(google-explicit-constructor)
    result(client_errc e) : ec_(make_error_code(e)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const noexcept { return !ec_; }
    explicit operator bool() const noexcept { return ok(); }
    std::error_code error() const noexcept { return ec_; }
    void value() const {
        if (ec_) throw std::system_error(ec_);
    }

  private:
    std::error_code ec_;
};

}  // namespace jitsu::xenstore
