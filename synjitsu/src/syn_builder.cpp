#include "synjitsu/syn_builder.h"

#include "common/syn_record.h"

namespace jitsu::synjitsu {

std::optional<four_tuple> syn_tuple(const packet::parsed_frame& frame) {
    const auto src = frame.src_ip();
    const auto dst = frame.dst_ip();
    if (!frame.tcp || !src || !dst) return std::nullopt;
    return four_tuple{*dst, frame.tcp->dst_port(), *src, frame.tcp->src_port()};
}

std::optional<queued_syn> build_queued_syn(const packet::parsed_frame& frame,
                                           std::span<const std::uint8_t> bytes,
                                           std::uint64_t time_ns, const isn_key& key) {
    const auto tuple = syn_tuple(frame);
    if (!tuple) return std::nullopt;
    auto options = tcp_options_sexp(frame.tcp->raw_options());
    if (!options) return std::nullopt;
    queued_syn syn;
    syn.tuple = *tuple;
    syn.client_mac = frame.ethernet.src();
    syn.frame.assign(bytes.begin(), bytes.end());
    syn.time_ns = time_ns;
    syn.count = 1;
    syn.tx_wnd = frame.tcp->window();
    syn.sequence = frame.tcp->seq();
    syn.options = std::move(*options);
    syn.tx_isn = pick_isn(key, *tuple);
    syn.rx_wnd = default_rx_wnd;
    syn.rx_wnd_scaleoffer = default_rx_wnd_scaleoffer;
    return syn;
}

}  // namespace jitsu::synjitsu
