#pragma once
// A prober and a queue_taker that record every call and report only when the test says
// so, to drive host_replay (and the engine around it) through every order of events
// without sockets or Xenstore.

#include <algorithm>
#include <map>
#include <vector>

#include "synjitsu/host_replay.h"

namespace jitsu::synjitsu::test {

// Probes come from 10.0.0.1, ports 50000, 50001, ... in the order they start.
class fake_prober final : public prober {
  public:
    struct started {
        probe_id id;
        ip_address ip;
        std::uint16_t port;
        four_tuple tuple;
    };

    std::optional<four_tuple> start(probe_id id, const ip_address& ip, std::uint16_t port,
                                    std::error_code& ec) override {
        if (fail_start) {
            ec = std::make_error_code(std::errc::network_unreachable);
            ++refused_starts;
            return std::nullopt;
        }
        const four_tuple t{ip, port, ip_address(ipv4_address(10, 0, 0, 1)), next_port++};
        starts.push_back({id, ip, port, t});
        open.push_back(id);
        return t;
    }
    void cancel(probe_id id) override {
        cancels.push_back(id);
        std::erase(open, id);
    }
    void prepare(const ip_address& ip, const mac_address& mac) override {
        prepared.emplace_back(ip, mac);
    }

    // The open probes on `port`, oldest first.
    std::vector<probe_id> open_on(std::uint16_t port) const {
        std::vector<probe_id> out;
        for (const auto& s : starts) {
            if (s.port == port && std::find(open.begin(), open.end(), s.id) != open.end()) {
                out.push_back(s.id);
            }
        }
        return out;
    }
    // Reports `outcome` for probe `id` (it is no longer open).
    void report(host_replay& hr, probe_id id, probe_outcome outcome, std::uint64_t now_ns) {
        std::erase(open, id);
        const auto ec =
            outcome == probe_outcome::refused  ? std::make_error_code(std::errc::connection_refused)
            : outcome == probe_outcome::failed ? std::make_error_code(std::errc::host_unreachable)
                                               : std::error_code{};
        hr.on_probe_result(id, outcome, ec, now_ns);
    }

    std::vector<started> starts;
    std::vector<probe_id> open;
    std::vector<probe_id> cancels;
    std::vector<std::pair<ip_address, mac_address>> prepared;
    std::uint16_t next_port = 50000;
    bool fail_start = false;
    int refused_starts = 0;
};

class fake_taker final : public queue_taker {
  public:
    void take(std::uint64_t ticket, const ip_address& ip) override {
        takes.push_back({ticket, ip});
    }
    struct call {
        std::uint64_t ticket;
        ip_address ip;
    };
    std::vector<call> takes;
};

}  // namespace jitsu::synjitsu::test
