#include "synjitsu/xenstore_taker.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "common/format.h"
#include "syn_take/take.h"

namespace jitsu::synjitsu {

void xenstore_taker::take(std::uint64_t ticket, const ip_address& ip) {
    boost::asio::co_spawn(client_.get_executor(), run(ticket, ip), boost::asio::detached);
}

xenstore::asio::awaitable<void> xenstore_taker::run(std::uint64_t ticket, ip_address ip) {
    take_outcome out;
    try {
        const std::array<ip_address, 1> ips{ip};
        auto taken = co_await take_queued_syns(client_, ips);
        if (taken) {
            out.ok = true;
            out.syns = std::move(taken->syns);
            out.malformed = taken->malformed.size();
            for (const auto& m : taken->malformed) {
                spdlog::warn("{}: removed malformed queued SYN {}: {}", ip, m.path, m.reason);
            }
        } else {
            out.error = taken.error().message();
        }
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    if (on_result_) on_result_(ticket, std::move(out));
}

}  // namespace jitsu::synjitsu
