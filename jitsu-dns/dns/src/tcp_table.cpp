#include "tcp_table.h"

#include <cstring>

#include "tcp_connection.h"

namespace jitsu::dns::detail {

client_key client_key_of(const boost::asio::ip::address& peer) {
    client_key k{};
    if (peer.is_v4()) {
        k[10] = k[11] = 0xff;
        const auto b = peer.to_v4().to_bytes();
        std::memcpy(k.data() + 12, b.data(), 4);
        return k;
    }
    const auto b = peer.to_v6().to_bytes();
    if (peer.to_v6().is_v4_mapped()) {
        std::memcpy(k.data(), b.data(), 16);
    } else {
        std::memcpy(k.data(), b.data(), 8);  // the /64
    }
    return k;
}

std::size_t tcp_table::key_hash::operator()(const client_key& k) const noexcept {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (std::uint8_t b : k) h = (h ^ b) * 1099511628211ULL;
    return static_cast<std::size_t>(h);
}

std::size_t tcp_table::held_by(const client_key& client) const {
    auto it = per_client_.find(client);
    return it == per_client_.end() ? 0 : it->second;
}

void tcp_table::add(tcp_connection* c) {
    if (connections_.insert(c).second) ++per_client_[c->client()];
}

void tcp_table::remove(tcp_connection* c) {
    if (connections_.erase(c) == 0) return;
    auto it = per_client_.find(c->client());
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
}

tcp_connection* tcp_table::victim() const {
    tcp_connection* best = nullptr;
    std::size_t best_held = 0;
    for (tcp_connection* c : connections_) {
        if (c->owed_answers()) continue;
        const std::size_t held = held_by(c->client());
        if (best == nullptr || held > best_held ||
            (held == best_held && c->last_active() < best->last_active())) {
            best = c;
            best_held = held;
        }
    }
    return best;
}

}  // namespace jitsu::dns::detail
