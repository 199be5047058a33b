#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <iostream>
#include <memory>

#include "guest/http.h"

namespace jitsu::guest {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

struct server_state {
    const httpd_config& config;
    std::size_t connections = 0;
};

// Closes the socket when the deadline passes; the session pushes it forward.
asio::awaitable<void> watchdog(std::shared_ptr<tcp::socket> socket,
                               std::shared_ptr<asio::steady_timer> timer) {
    for (;;) {
        error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!socket->is_open()) co_return;
        if (timer->expiry() <= asio::steady_timer::clock_type::now()) {
            socket->close(ec);
            co_return;
        }
    }
}

asio::awaitable<void> session(std::shared_ptr<tcp::socket> socket, server_state& state) {
    const auto& config = state.config;
    auto timer = std::make_shared<asio::steady_timer>(socket->get_executor());
    timer->expires_after(config.idle_timeout);
    asio::co_spawn(socket->get_executor(), watchdog(socket, timer), asio::detached);
    socket->set_option(tcp::no_delay(true));

    std::string buffer;
    buffer.reserve(1024);
    std::array<char, 4096> chunk;
    bool open = true;
    while (open) {
        parse_result parsed = parse_http_request(buffer, config.max_head);
        if (parsed.status == parse_status::incomplete) {
            error_code ec;
            const std::size_t n = co_await socket->async_read_some(
                asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            buffer.append(chunk.data(), n);
            continue;
        }
        std::string response;
        if (parsed.status == parse_status::complete) {
            const auto& req = parsed.request;
            const bool head = req.method == "HEAD";
            open = req.keep_alive;
            if (req.method != "GET" && !head) {
                response = http_response(405, "method not allowed\n", open, head);
            } else if (req.target != "/") {
                response = http_response(404, "not found\n", open, head);
            } else {
                response = http_response(200, config.body, open, head);
            }
            buffer.erase(0, parsed.consumed);
        } else {
            open = false;
            response = parsed.status == parse_status::too_large
                           ? http_response(431, "request head too large\n", false)
                           : http_response(400, parsed.error + "\n", false);
        }
        error_code ec;
        co_await asio::async_write(*socket, asio::buffer(response),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        timer->expires_after(config.idle_timeout);
    }
    error_code ec;
    socket->shutdown(tcp::socket::shutdown_send, ec);
    socket->close(ec);
    timer->cancel();
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, server_state& state) {
    for (;;) {
        auto socket = std::make_shared<tcp::socket>(acceptor.get_executor());
        error_code ec;
        co_await acceptor.async_accept(*socket, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;  // e.g. EMFILE: try the next one
        if (state.connections >= state.config.max_connections) {
            const std::string busy = http_response(503, "busy\n", false);
            socket->non_blocking(true, ec);
            socket->write_some(asio::buffer(busy), ec);
            socket->close(ec);
            continue;
        }
        ++state.connections;
        asio::co_spawn(acceptor.get_executor(), session(socket, state),
                       [&state](std::exception_ptr) { --state.connections; });
    }
}

tcp::acceptor open_acceptor(asio::io_context& io, const httpd_config& config) {
    tcp::acceptor acceptor(io);
    error_code ec;
    tcp::endpoint endpoint;
    if (!config.bind.empty()) {
        endpoint = tcp::endpoint(asio::ip::make_address(config.bind), config.port);
        acceptor.open(endpoint.protocol());
    } else {
        endpoint = tcp::endpoint(tcp::v6(), config.port);
        acceptor.open(tcp::v6(), ec);
        if (!ec) acceptor.set_option(asio::ip::v6_only(false), ec);
        if (ec) {  // no IPv6 here
            if (acceptor.is_open()) acceptor.close();
            endpoint = tcp::endpoint(tcp::v4(), config.port);
            acceptor.open(tcp::v4());
        }
    }
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor;
}

}  // namespace

int run_httpd(const httpd_config& config) {
    asio::io_context io(1);
    tcp::acceptor acceptor(io);
    try {
        acceptor = open_acceptor(io, config);
    } catch (const std::exception& e) {
        std::cerr << "jitsu-httpd: cannot listen on port " << config.port << ": " << e.what()
                  << "\n";
        return 1;
    }
    server_state state{config};
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const error_code&, int) { io.stop(); });
    asio::co_spawn(io, accept_loop(acceptor, state), asio::detached);
    io.run();
    return 0;
}

}  // namespace jitsu::guest
