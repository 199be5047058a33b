#include "synjitsu/tcp_prober.h"

#include <boost/asio/ip/udp.hpp>

namespace jitsu::synjitsu {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

asio::ip::address to_asio(const ip_address& ip) {
    if (const auto* v4 = ip.if_v4()) return asio::ip::address_v4(v4->to_uint());
    return asio::ip::address_v6(ip.v6().bytes());
}

ip_address from_asio(const asio::ip::address& a) {
    if (a.is_v4()) return ipv4_address(a.to_v4().to_uint());
    return ipv6_address(a.to_v6().to_bytes());
}

std::error_code to_std(const boost::system::error_code& ec) {
    return std::error_code(ec.value(), std::generic_category());
}

}  // namespace

tcp_prober::tcp_prober(asio::io_context& io, result_fn on_result, prepare_fn prepare)
    : io_(io), on_result_(std::move(on_result)), prepare_(std::move(prepare)) {}

tcp_prober::~tcp_prober() { cancel_all(); }

std::optional<four_tuple> tcp_prober::start(probe_id id, const ip_address& ip, std::uint16_t port,
                                            std::error_code& ec) {
    const asio::ip::address address = to_asio(ip);
    boost::system::error_code bec;
    // 1. The source address of the route to the VM.
    udp::socket route(io_);
    route.open(address.is_v4() ? udp::v4() : udp::v6(), bec);
    if (!bec) route.connect(udp::endpoint(address, port), bec);
    const udp::endpoint source = bec ? udp::endpoint{} : route.local_endpoint(bec);
    if (bec) {
        ec = to_std(bec);
        return std::nullopt;
    }
    // 2. Bound before connect(): the 4-tuple is final now.
    auto socket = std::make_shared<tcp::socket>(io_);
    socket->open(address.is_v4() ? tcp::v4() : tcp::v6(), bec);
    if (!bec) socket->bind(tcp::endpoint(source.address(), 0), bec);
    const tcp::endpoint local = bec ? tcp::endpoint{} : socket->local_endpoint(bec);
    if (bec) {
        ec = to_std(bec);
        return std::nullopt;
    }
    // 3. Non-blocking connect; Asio posts the completion even when connect() fails at
    // once, so the outcome never arrives from within start().
    sockets_.emplace(id, socket);
    socket->async_connect(tcp::endpoint(address, port),
                          [this, alive = std::weak_ptr<int>(alive_), id,
                           socket](const boost::system::error_code& result) {
                              if (alive.expired()) return;  // the prober is gone
                              const auto it = sockets_.find(id);
                              if (it == sockets_.end()) return;  // cancelled
                              sockets_.erase(it);
                              boost::system::error_code ignored;
                              socket->close(ignored);
                              probe_outcome outcome = probe_outcome::failed;
                              if (!result) {
                                  outcome = probe_outcome::accepted;
                              } else if (result == asio::error::connection_refused) {
                                  outcome = probe_outcome::refused;
                              }
                              if (on_result_) on_result_(id, outcome, to_std(result));
                          });
    return four_tuple{ip, port, from_asio(local.address()), local.port()};
}

void tcp_prober::cancel(probe_id id) {
    const auto it = sockets_.find(id);
    if (it == sockets_.end()) return;
    boost::system::error_code ignored;
    it->second->close(ignored);
    sockets_.erase(it);
}

void tcp_prober::cancel_all() {
    for (auto& [id, socket] : sockets_) {
        boost::system::error_code ignored;
        socket->close(ignored);
    }
    sockets_.clear();
}

}  // namespace jitsu::synjitsu
