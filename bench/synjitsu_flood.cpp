// synjitsu_flood: the load generator and ARP prober of bench/synjitsu-flood.
//
//   synjitsu_flood flood --interface IF --src-mac M --dst-mac M --dst-ip IP --seconds S
//       [--sources N] [--offset K]
//       Sends TCP SYNs as fast as it can (AF_PACKET, sendmmsg batches), cycling through
//       4096 distinct 4-tuples from 10.0.128.0/17 to dst-ip:80, from N distinct source
//       addresses (default 4096: one per 4-tuple, a spoofer's best; 1: one host);
//       --offset K starts the ring at 4-tuple K (another run, other 4-tuples first).
//       Prints "offered N frames in T s = R/s".
//   synjitsu_flood syn --interface IF --src-mac M --dst-mac M --src-ip IP --dst-ip IP
//       [--sport P]
//       Sends one TCP SYN to dst-ip:80 (a real client's first SYN during the flood).
//   synjitsu_flood probe --interface IF --src-mac M --src-ip IP --target IP --seconds S
//       Sends an ARP who-has every 10 ms and times the reply. Prints median/p99/max
//       latency in microseconds and how many went unanswered (100 ms timeout).
//
// Meant to run inside the bench's own network namespaces only; it never chooses an
// interface by itself. Loops are bounded by --seconds (at most 120).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/packet/arp.h"
#include "common/packet/build.h"
#include "common/packet/frame.h"

using namespace jitsu;
using clk = std::chrono::steady_clock;

namespace {

struct args {
    std::string mode, interface;
    mac_address src_mac{}, dst_mac{};
    ip_address dst_ip{}, src_ip{}, target{};
    double seconds = 10;
    unsigned sources = 4096;
    unsigned sport = 40001;
    unsigned offset = 0;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "synjitsu_flood: %s\n(see the comment at the top of bench/synjitsu_flood.cpp)\n",
                 why);
    std::exit(2);
}

args parse(int argc, char** argv) {
    if (argc < 2) usage("mode flood|probe required");
    args a;
    a.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--interface")
            a.interface = v;
        else if (k == "--src-mac")
            a.src_mac = mac_address::parse_or_throw(v);
        else if (k == "--dst-mac")
            a.dst_mac = mac_address::parse_or_throw(v);
        else if (k == "--dst-ip")
            a.dst_ip = ip_address::parse_or_throw(v);
        else if (k == "--src-ip")
            a.src_ip = ip_address::parse_or_throw(v);
        else if (k == "--target")
            a.target = ip_address::parse_or_throw(v);
        else if (k == "--seconds")
            a.seconds = std::stod(v);
        else if (k == "--sources")
            a.sources = static_cast<unsigned>(std::stoul(v));
        else if (k == "--sport")
            a.sport = static_cast<unsigned>(std::stoul(v));
        else if (k == "--offset")
            a.offset = static_cast<unsigned>(std::stoul(v) % 4096);
        else
            usage(("unknown option " + k).c_str());
    }
    if (a.interface.empty()) usage("--interface required");
    a.seconds = std::clamp(a.seconds, 0.1, 120.0);
    if (a.sources < 1 || a.sources > 4096) usage("--sources must be in 1..4096");
    if (a.sport < 1 || a.sport > 65535) usage("--sport must be in 1..65535");
    return a;
}

int open_socket(const std::string& ifname, int protocol) {
    const int fd = ::socket(AF_PACKET, SOCK_RAW, htons(static_cast<std::uint16_t>(protocol)));
    if (fd < 0) usage("socket(AF_PACKET) failed (root?)");
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(static_cast<std::uint16_t>(protocol));
    sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    if (sll.sll_ifindex == 0) usage("no such interface");
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) usage("bind failed");
    return fd;
}

int flood(const args& a) {
    const int fd = open_socket(a.interface, ETH_P_ALL);
    int one = 1;
    ::setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    // A ring of distinct SYNs (4-tuples), built once; the flood cycles through it so
    // the sender's cost is the syscall, not frame building.
    constexpr std::size_t batch = 64;
    constexpr std::size_t ring = 64 * batch;
    std::vector<std::array<std::uint8_t, 128>> frames(ring);
    std::vector<iovec> iov(ring);
    std::vector<mmsghdr> msgs(ring);
    const auto options =
        std::array{packet::tcp_option::make_mss(1460), packet::tcp_option::make_sack_permitted(),
                   packet::tcp_option::make_window_scale(7)};
    for (std::size_t i = 0; i < ring; ++i) {
        packet::ip_header_fields ip;
        const std::size_t tuple = (i + a.offset) % ring;
        const std::size_t src = tuple % a.sources;
        ip.src = ipv4_address(10, 0, static_cast<std::uint8_t>(128 + src / 250),
                              static_cast<std::uint8_t>(1 + src % 250));
        ip.dst = a.dst_ip;
        packet::tcp_fields tcp;
        tcp.src_port = static_cast<std::uint16_t>(1024 + tuple);
        tcp.dst_port = 80;
        tcp.seq = static_cast<std::uint32_t>(i * 2654435761U);
        tcp.flags = packet::tcp_flags::syn;
        tcp.window = 64240;
        const std::size_t n = packet::build_tcp_frame(
            frames[i], {.dst = a.dst_mac, .src = a.src_mac}, ip, tcp, options);
        iov[i] = {frames[i].data(), n};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    std::uint64_t sent = 0;
    std::size_t next = 0;
    const auto start = clk::now();
    const auto end = start + std::chrono::duration<double>(a.seconds);
    while (clk::now() < end) {
        const int r = ::sendmmsg(fd, &msgs[next], batch, 0);
        if (r > 0) sent += static_cast<std::uint64_t>(r);
        next = (next + batch) % ring;
    }
    const double secs = std::chrono::duration<double>(clk::now() - start).count();
    std::printf("offered %llu frames in %.2f s = %.0f/s\n", static_cast<unsigned long long>(sent),
                secs, static_cast<double>(sent) / secs);
    ::close(fd);
    return 0;
}

int one_syn(const args& a) {
    const int fd = open_socket(a.interface, ETH_P_ALL);
    std::array<std::uint8_t, 128> frame{};
    packet::ip_header_fields ip;
    ip.src = a.src_ip;
    ip.dst = a.dst_ip;
    packet::tcp_fields tcp;
    tcp.src_port = static_cast<std::uint16_t>(a.sport);
    tcp.dst_port = 80;
    tcp.seq = 12345;
    tcp.flags = packet::tcp_flags::syn;
    tcp.window = 64240;
    const auto options = std::array{packet::tcp_option::make_mss(1460)};
    const std::size_t n =
        packet::build_tcp_frame(frame, {.dst = a.dst_mac, .src = a.src_mac}, ip, tcp, options);
    const bool ok = ::send(fd, frame.data(), n, 0) == static_cast<ssize_t>(n);
    ::close(fd);
    if (!ok) usage("send failed");
    return 0;
}

int probe(const args& a) {
    const int fd = open_socket(a.interface, ETH_P_ARP);
    std::array<std::uint8_t, 64> req{};
    const std::size_t n = packet::build_arp_request(req, a.src_mac, a.src_ip.v4(), a.target.v4());
    std::vector<double> lat_us;
    std::uint64_t lost = 0, probes = 0;
    const auto end = clk::now() + std::chrono::duration<double>(a.seconds);
    std::array<std::uint8_t, 2048> buf{};
    while (clk::now() < end) {
        const auto t0 = clk::now();
        if (::send(fd, req.data(), n, 0) < 0) usage("send failed");
        ++probes;
        bool answered = false;
        while (!answered) {
            const auto waited = clk::now() - t0;
            const int left =
                100 - static_cast<int>(
                          std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
            if (left <= 0) break;
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, left) <= 0) break;
            const ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
            if (got <= 0) continue;
            const auto f = packet::parse_frame(
                std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(got)));
            if (f && f->arp && f->arp->is_reply() && f->arp->sender_ip() == a.target.v4() &&
                f->arp->target_mac() == a.src_mac) {
                lat_us.push_back(
                    std::chrono::duration<double, std::micro>(clk::now() - t0).count());
                answered = true;
            }
        }
        if (!answered) ++lost;
        const auto next = t0 + std::chrono::milliseconds(10);
        while (clk::now() < next) {
            pollfd p{fd, POLLIN, 0};
            const int ms = static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(next - clk::now()).count());
            if (::poll(&p, 1, std::max(ms, 0)) > 0) (void)::recv(fd, buf.data(), buf.size(), 0);
        }
    }
    std::sort(lat_us.begin(), lat_us.end());
    auto pct = [&](double q) {
        return lat_us.empty()
                   ? 0.0
                   : lat_us[std::min(
                         lat_us.size() - 1,
                         static_cast<std::size_t>(q * static_cast<double>(lat_us.size())))];
    };
    std::printf(
        "arp probes %llu answered %zu unanswered %llu median_us %.0f p99_us %.0f max_us %.0f\n",
        static_cast<unsigned long long>(probes), lat_us.size(),
        static_cast<unsigned long long>(lost), pct(0.5), pct(0.99),
        lat_us.empty() ? 0.0 : lat_us.back());
    ::close(fd);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const args a = parse(argc, argv);
        if (a.mode == "flood") return flood(a);
        if (a.mode == "syn") return one_syn(a);
        if (a.mode == "probe") return probe(a);
        usage("mode must be flood, syn or probe");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "synjitsu_flood: %s\n", e.what());
        return 2;
    }
}
