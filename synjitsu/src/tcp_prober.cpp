#include "synjitsu/tcp_prober.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/udp.hpp>
#include <cerrno>
#include <cstring>

#include "common/format.h"
#include "common/packet/tcp.h"

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

std::error_code last_error() { return std::error_code(errno, std::generic_category()); }

// Bytes of a segment the filter passes (enough for an IPv4 header with options and a
// TCP header with options; the answers we want carry no payload).
constexpr std::uint32_t filter_snap = 128;
constexpr std::uint8_t syn_ack_bits = packet::tcp_flags::syn | packet::tcp_flags::ack;

// Classic BPF: accept (up to filter_snap bytes) a TCP segment with RST, or with SYN and
// ACK; drop the rest before it is queued. IPv4 raw sockets see the IP header first
// (its length from IHL); IPv6 ones see the TCP header first.
std::array<sock_filter, 7> answer_filter(bool v4) {
    const std::uint32_t flags_at = 13;
    return {{
        // X = the IP header's length (IPv4), 0 (IPv6).
        v4 ? sock_filter BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0)
           : sock_filter BPF_STMT(BPF_LDX | BPF_IMM, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, flags_at),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, packet::tcp_flags::rst, 2, 0),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, syn_ack_bits),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, syn_ack_bits, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, filter_snap),
        BPF_STMT(BPF_RET | BPF_K, 0),
    }};
}

// Answers read per wake-up at most: the loop serves others between batches.
constexpr int max_reads_per_wake = 64;

// The probe's SYN: a plain connection request with an MSS option, as a kernel would
// send it minus the options a half-open probe does not need.
std::size_t build_probe_syn(std::span<std::uint8_t> out, const ip_address& source,
                            std::uint16_t source_port, const ip_address& vm, std::uint16_t vm_port,
                            std::uint32_t isn) {
    packet::tcp_fields f;
    f.src_port = source_port;
    f.dst_port = vm_port;
    f.seq = isn;
    f.flags = packet::tcp_flags::syn;
    f.window = 64240;
    const std::array<packet::tcp_option, 1> options{
        packet::tcp_option::make_mss(source.is_v4() ? 1460 : 1440)};
    return packet::build_tcp_segment(out, f, options, {}, source, vm);
}

// sendmsg of `segment` to `vm` from `source` (pinned by PKTINFO: the checksum covers it).
std::error_code send_segment(int fd, std::span<const std::uint8_t> segment,
                             const ip_address& source, const ip_address& vm) {
    sockaddr_storage to{};
    socklen_t to_len = 0;
    alignas(cmsghdr) std::array<std::uint8_t, CMSG_SPACE(sizeof(in6_pktinfo))> control{};
    msghdr msg{};
    iovec iov{const_cast<std::uint8_t*>(segment.data()), segment.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    if (const auto* v4 = vm.if_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&to);
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(v4->to_uint());
        to_len = sizeof(sockaddr_in);
        msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo info{};
        info.ipi_spec_dst.s_addr = htonl(source.v4().to_uint());
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&to);
        sin6->sin6_family = AF_INET6;  // sin6_port 0: the socket's protocol
        const auto bytes = vm.v6().bytes();
        std::memcpy(&sin6->sin6_addr, bytes.data(), bytes.size());
        to_len = sizeof(sockaddr_in6);
        msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo info{};
        const auto src = source.v6().bytes();
        std::memcpy(&info.ipi6_addr, src.data(), src.size());
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
    }
    msg.msg_name = &to;
    msg.msg_namelen = to_len;
    const ssize_t n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) return last_error();
    if (static_cast<std::size_t>(n) != segment.size()) {
        return std::make_error_code(std::errc::message_size);
    }
    return {};
}

}  // namespace

tcp_prober::tcp_prober(asio::io_context& io, result_fn on_result, prepare_fn prepare)
    : io_(io),
      on_result_(std::move(on_result)),
      prepare_(std::move(prepare)),
      isn_key_(random_isn_key()) {}

tcp_prober::~tcp_prober() { cancel_all(); }

std::error_code tcp_prober::open_channel(channel& c, bool v4) {
    if (c.socket) return {};
    const int family = v4 ? AF_INET : AF_INET6;
    const int fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return last_error();
    auto program = answer_filter(v4);
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
        const auto ec = last_error();
        ::close(fd);
        return ec;
    }
    boost::system::error_code bec;
    c.socket.emplace(io_);
    c.socket->assign(asio::generic::raw_protocol(family, IPPROTO_TCP), fd, bec);
    if (bec) {
        ::close(fd);
        c.socket.reset();
        return to_std(bec);
    }
    return {};
}

std::optional<four_tuple> tcp_prober::start(probe_id id, const ip_address& ip, std::uint16_t port,
                                            std::error_code& ec) {
    const asio::ip::address address = to_asio(ip);
    const bool v4 = address.is_v4();
    boost::system::error_code bec;
    // 1. The source address of the route to the VM.
    udp::socket route(io_);
    route.open(v4 ? udp::v4() : udp::v6(), bec);
    if (!bec) route.connect(udp::endpoint(address, port), bec);
    const udp::endpoint source = bec ? udp::endpoint{} : route.local_endpoint(bec);
    if (bec) {
        ec = to_std(bec);
        return std::nullopt;
    }
    // 2. The source port, reserved: the 4-tuple is final now.
    auto reservation = std::make_unique<tcp::socket>(io_);
    reservation->open(v4 ? tcp::v4() : tcp::v6(), bec);
    if (!bec) reservation->bind(tcp::endpoint(source.address(), 0), bec);
    const tcp::endpoint local = bec ? tcp::endpoint{} : reservation->local_endpoint(bec);
    if (bec) {
        ec = to_std(bec);
        return std::nullopt;
    }
    // 3. The SYN, on the family's raw socket.
    channel& c = channel_for(ip);
    if (const auto open_ec = open_channel(c, v4)) {
        ec = open_ec;
        return std::nullopt;
    }
    probe p;
    p.vm = ip;
    p.vm_port = port;
    p.source_port = local.port();
    const std::array<std::uint64_t, 1> salt{id};
    p.isn = static_cast<std::uint32_t>(
        siphash24(isn_key_, reinterpret_cast<const std::uint8_t*>(salt.data()), sizeof salt));
    const ip_address source_ip = from_asio(local.address());
    std::array<std::uint8_t, 64> syn{};
    const std::size_t n = build_probe_syn(syn, source_ip, p.source_port, ip, port, p.isn);
    if (n == 0) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return std::nullopt;
    }
    if (const auto send_ec =
            send_segment(c.socket->native_handle(), std::span(syn.data(), n), source_ip, ip)) {
        ec = send_ec;
        return std::nullopt;
    }
    ++stats_.syns_sent;
    p.reservation = std::move(reservation);
    probes_.insert_or_assign(id, std::move(p));
    // 4. The answer comes through read(), never from within start().
    read(c, v4);
    return four_tuple{ip, port, source_ip, local.port()};
}

void tcp_prober::read(channel& c, bool v4) {
    if (c.reading || !c.socket) return;
    c.reading = true;
    c.socket->async_wait(raw_socket::wait_read,
                         [this, alive = std::weak_ptr<int>(alive_), &c, v4,
                          generation = c.generation](const boost::system::error_code& ec) {
                             if (alive.expired()) return;  // the prober is gone
                             // A socket closed since (cancel_all): a new one has its own wait.
                             if (generation != c.generation) return;
                             c.reading = false;
                             if (!ec) on_readable(c, v4);
                         });
}

void tcp_prober::on_readable(channel& c, bool v4) {
    switch (drain(c, v4)) {
        case drained::gone:
            return;
        case drained::empty:
            read(c, v4);
            return;
        case drained::more:
            // Stopped at the cap with answers still queued: no new wake-up would come
            // for those (edge-triggered), so the rest is read after the loop's other work.
            c.reading = true;
            asio::post(
                io_, [this, alive = std::weak_ptr<int>(alive_), &c, v4, generation = c.generation] {
                    if (alive.expired() || generation != c.generation) return;
                    c.reading = false;
                    on_readable(c, v4);
                });
            return;
    }
}

tcp_prober::drained tcp_prober::drain(channel& c, bool v4) {
    const std::weak_ptr<int> alive = alive_;
    for (int i = 0; i < max_reads_per_wake; ++i) {
        if (!c.socket) return drained::empty;  // closed by a result handler (cancel_all)
        sockaddr_storage from{};
        socklen_t from_len = sizeof from;
        const ssize_t got = ::recvfrom(c.socket->native_handle(), buffer_.data(), buffer_.size(),
                                       MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return drained::empty;
            continue;  // EINTR, or a pending socket error (reported once): read on
        }
        std::span<const std::uint8_t> bytes(buffer_.data(), static_cast<std::size_t>(got));
        ip_address vm;
        if (v4) {
            // Only the header's own fields: the filter may have cut the datagram short
            // of its total length.
            if (bytes.size() < 20 || (bytes[0] >> 4) != 4 || bytes[9] != IPPROTO_TCP) {
                ++stats_.malformed;
                continue;
            }
            const std::size_t ihl = static_cast<std::size_t>(bytes[0] & 0x0f) * 4;
            if (ihl < 20 || ihl > bytes.size()) {
                ++stats_.malformed;
                continue;
            }
            vm = ipv4_address(static_cast<std::uint32_t>(bytes[12]) << 24 |
                              static_cast<std::uint32_t>(bytes[13]) << 16 |
                              static_cast<std::uint32_t>(bytes[14]) << 8 | bytes[15]);
            bytes = bytes.subspan(ihl);
        } else {
            if (from.ss_family != AF_INET6) {
                ++stats_.malformed;
                continue;
            }
            std::array<std::uint8_t, ipv6_address::size> b{};
            std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr,
                        b.size());
            vm = ipv6_address(b);
        }
        // The checksum is not checked: segments from a VM may arrive with a partial one
        // (checksum offload); the exact 4-tuple and acknowledgment number match instead.
        const auto segment = packet::tcp_view::parse(bytes);
        if (!segment) {
            ++stats_.malformed;
            continue;
        }
        const bool syn_ack = segment->has_flags(syn_ack_bits);
        if (!syn_ack && !(segment->rst() && segment->ack())) {
            ++stats_.unmatched;  // a bare RST acknowledges nothing of ours
            continue;
        }
        answer(vm, segment->src_port(), segment->dst_port(), segment->ack_number(), syn_ack);
        if (alive.expired()) return drained::gone;
    }
    return drained::more;
}

void tcp_prober::answer(const ip_address& vm, std::uint16_t vm_port, std::uint16_t source_port,
                        std::uint32_t ack, bool syn_ack) {
    // At most max_in_flight probes: a scan is cheaper than another index to keep.
    const auto it = std::find_if(probes_.begin(), probes_.end(), [&](const auto& entry) {
        const probe& p = entry.second;
        return p.source_port == source_port && p.vm_port == vm_port && p.vm == vm &&
               ack == p.isn + 1;
    });
    if (it == probes_.end()) {
        ++stats_.unmatched;
        spdlog::debug("{}: probe answer {} from port {} to port {} matches no probe (dropped)", vm,
                      syn_ack ? "SYN-ACK" : "RST", vm_port, source_port);
        return;
    }
    ++stats_.answers;
    const probe_id id = it->first;
    spdlog::debug("{}: probe {} answered: {} from port {} to port {}", vm, id,
                  syn_ack ? "SYN-ACK" : "RST", vm_port, source_port);
    // Closing the reservation frees the port: the host's RST to the SYN-ACK does not
    // depend on it (no socket listens or is connected on the 4-tuple either way).
    probes_.erase(it);
    if (on_result_) {
        on_result_(
            id, syn_ack ? probe_outcome::accepted : probe_outcome::refused,
            syn_ack ? std::error_code{} : std::make_error_code(std::errc::connection_refused));
    }
}

void tcp_prober::cancel(probe_id id) { probes_.erase(id); }

void tcp_prober::cancel_all() {
    probes_.clear();
    for (channel* c : {&v4_, &v6_}) {
        if (!c->socket) continue;
        boost::system::error_code ignored;
        c->socket->close(ignored);
        c->socket.reset();
        c->reading = false;
        ++c->generation;
    }
}

}  // namespace jitsu::synjitsu
