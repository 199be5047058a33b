// jitsu-guest-queue-syn: the stand-in for synjitsu in the guest integration test. Reads
// a capture, takes the first TCP SYN (no ACK) to --dst[:--dport], and queues it in
// Xenstore exactly as synjitsu does (common/syn_queue encoder, one transaction that
// stands down if /ip/<ip> is managed).
//
// Exit: 0 queued, 1 no such SYN in the capture (yet), 2 usage, 3 the VM is already
// managed (not queued), 4 Xenstore error.
#include <pcap/pcap.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>
#include <optional>

#include "common/packet/frame.h"
#include "guest_test_support.h"

namespace {

struct found_syn {
    std::vector<std::uint8_t> frame;
    std::uint64_t time_ns = 0;
};

std::optional<found_syn> first_syn(const std::string& file, const jitsu::ip_address& dst, int dport,
                                   std::string& error) {
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p =
        pcap_open_offline_with_tstamp_precision(file.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    if (p == nullptr) {
        error = err;
        return std::nullopt;
    }
    std::optional<found_syn> out;
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    // A capture still being written may end mid-record: stop quietly there.
    for (int i = 0; i < 100000 && pcap_next_ex(p, &h, &data) == 1; ++i) {
        if (pcap_datalink(p) != DLT_EN10MB) break;
        std::span<const std::uint8_t> bytes(data, h->caplen);
        const auto f = jitsu::packet::parse_frame(bytes);
        if (!f || !f->tcp || !f->tcp->is_syn_only() || f->dst_ip() != dst) continue;
        if (dport > 0 && f->tcp->dst_port() != dport) continue;
        out = found_syn{{bytes.begin(), bytes.end()},
                        static_cast<std::uint64_t>(h->ts.tv_sec) * 1000000000ULL +
                            static_cast<std::uint64_t>(h->ts.tv_usec)};
        break;
    }
    pcap_close(p);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"queue the first SYN of a capture in Xenstore as synjitsu would",
                 "jitsu-guest-queue-syn"};
    std::string pcap_file, dst_text, socket_path;
    int dport = 0;
    std::uint32_t tx_isn = 0x12345678;
    app.add_option("--pcap", pcap_file, "capture file (Ethernet)")->required();
    app.add_option("--dst", dst_text, "the VM's IP")->required();
    app.add_option("--dport", dport, "the VM's port (default: any)");
    app.add_option("--tx-isn", tx_isn, "ISN the VM should use");
    app.add_option("--socket", socket_path, "Xenstore socket (default $XENSTORED_PATH)");
    CLI11_PARSE(app, argc, argv);
    const auto dst = jitsu::ip_address::parse(dst_text);
    if (!dst) {
        std::cerr << "jitsu-guest-queue-syn: bad --dst\n";
        return 2;
    }
    std::string error;
    const auto syn = first_syn(pcap_file, *dst, dport, error);
    if (!syn) {
        if (!error.empty()) std::cerr << "jitsu-guest-queue-syn: " << error << "\n";
        return 1;
    }
    auto record = jitsu::guest::testing::queued_syn_from_frame(syn->frame, syn->time_ns, tx_isn);
    if (!record) {
        std::cerr << "jitsu-guest-queue-syn: the SYN's options do not convert\n";
        return 1;
    }

    boost::asio::io_context io;
    jitsu::xenstore::client_options options;
    if (!socket_path.empty()) options.socket_path = socket_path;
    options.reconnect = false;
    jitsu::xenstore::client client(io.get_executor(), options);
    int code = 4;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            auto c = co_await client.connect();
            if (!c) {
                std::cerr << "jitsu-guest-queue-syn: connect: " << c.error().message() << "\n";
                co_return;
            }
            auto r = co_await jitsu::guest::testing::queue_syn(client, *record);
            if (!r) {
                std::cerr << "jitsu-guest-queue-syn: " << r.error().message() << "\n";
            } else if (*r == jitsu::guest::testing::queue_outcome::managed) {
                std::cerr << "jitsu-guest-queue-syn: " << jitsu::ip_root(*dst) << " is managed\n";
                code = 3;
            } else {
                std::cout << jitsu::syn_node(record->tuple) << " seq " << record->sequence
                          << " options " << record->options << "\n";
                code = 0;
            }
            client.close();
        },
        [&](std::exception_ptr) { io.stop(); });
    io.run_for(std::chrono::seconds(10));
    return code;
}
