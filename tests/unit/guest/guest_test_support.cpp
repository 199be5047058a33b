#include "guest_test_support.h"

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <thread>

#include "common/packet/build.h"
#include "common/packet/frame.h"
#include "common/syn_record.h"

extern char** environ;

namespace jitsu::guest::testing {

using namespace std::chrono_literals;

std::vector<std::uint8_t> make_syn_frame(const four_tuple& tuple, const mac_address& client_mac,
                                         const mac_address& vm_mac, std::uint32_t seq,
                                         std::uint16_t window) {
    using namespace jitsu::packet;
    const std::array<tcp_option, 5> options = {
        tcp_option::make_mss(1460), tcp_option::make_sack_permitted(),
        tcp_option::make_timestamp(12345, 0), tcp_option::make_nop(),
        tcp_option::make_window_scale(7)};
    tcp_fields tcp;
    tcp.src_port = tuple.remote_port;
    tcp.dst_port = tuple.local_port;
    tcp.seq = seq;
    tcp.flags = tcp_flags::syn;
    tcp.window = window;
    ip_header_fields ip;
    ip.src = tuple.remote_ip;
    ip.dst = tuple.local_ip;
    ip.ipv4_dont_fragment = true;
    std::vector<std::uint8_t> frame(256);
    const std::size_t n =
        build_tcp_frame(frame, ethernet_fields{vm_mac, client_mac, {}}, ip, tcp, options);
    frame.resize(n);
    return frame;
}

std::optional<queued_syn> queued_syn_from_frame(std::vector<std::uint8_t> frame,
                                                std::uint64_t time_ns, std::uint32_t tx_isn) {
    const auto parsed = packet::parse_frame(frame);
    if (!parsed || !parsed->tcp || !parsed->tcp->is_syn_only()) return std::nullopt;
    auto options = tcp_options_sexp(parsed->tcp->raw_options());
    if (!options) return std::nullopt;
    queued_syn syn;
    syn.tuple = {*parsed->dst_ip(), parsed->tcp->dst_port(), *parsed->src_ip(),
                 parsed->tcp->src_port()};
    syn.client_mac = parsed->ethernet.src();
    syn.time_ns = time_ns;
    syn.count = 1;
    syn.tx_wnd = parsed->tcp->window();
    syn.sequence = parsed->tcp->seq();
    syn.options = std::move(*options);
    syn.tx_isn = tx_isn;
    syn.rx_wnd = 65535;
    syn.rx_wnd_scaleoffer = 7;
    syn.frame = std::move(frame);
    return syn;
}

queued_syn make_queued_syn(const four_tuple& tuple, std::uint64_t time_ns, std::uint32_t seq) {
    const auto client_mac = *mac_address::parse("02:00:00:00:00:01");
    const auto vm_mac = *mac_address::parse("02:00:00:00:00:0a");
    auto syn = queued_syn_from_frame(make_syn_frame(tuple, client_mac, vm_mac, seq), time_ns,
                                     seq ^ 0x5a5a5a5aU);
    return *syn;
}

xenstore::asio::awaitable<xenstore::result<queue_outcome>> queue_syn(xenstore::client& client,
                                                                     const queued_syn& syn) {
    namespace xs = jitsu::xenstore;
    queue_outcome outcome = queue_outcome::queued;
    auto r = co_await client.transact(
        [&](xs::tx_id tx) -> xs::asio::awaitable<xs::result<void>> {
            auto state = co_await client.read(ip_root(syn.tuple.local_ip), tx);
            if (state && *state == ip_managed_value) {
                outcome = queue_outcome::managed;
                co_return xs::result<void>{};
            }
            outcome = queue_outcome::queued;
            const std::string node = syn_node(syn.tuple);
            queued_syn record = syn;
            auto count = co_await client.read(node + "/count", tx);
            if (count) {
                const auto n = parse_decimal(*count, 0xfffffffeU);
                if (n) record.count = static_cast<std::uint32_t>(*n + 1);
            }
            const auto fields = encode_queued_syn(record);
            std::vector<std::string> paths;
            for (const auto& [name, value] : fields)
                paths.push_back(node + "/" + std::string(name));
            std::vector<xs::client::string_pair> writes;
            for (std::size_t i = 0; i < fields.size(); ++i)
                writes.emplace_back(paths[i], fields[i].second);
            co_return co_await client.write_many(writes, tx);
        },
        64);
    if (!r) co_return r.error();
    co_return outcome;
}

}  // namespace jitsu::guest::testing
