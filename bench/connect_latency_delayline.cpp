// jitsu-delayline: a constant-delay link between pairs of interfaces, in user space.
//
//   jitsu-delayline --pair A,B,DELAY_US [--pair ...] [--realtime] [--name TEXT] [-v|-q]
//
// Every frame received on A is sent out of B DELAY_US microseconds after it arrived, and
// every frame received on B is sent out of A the same way. scripts/topology runs it in
// the router namespace to give the client<->router links their RTT when the kernel has
// no sch_netem (tc netem), as on the kernels these machines run. The interfaces must be
// veth ends without addresses and with NOARP, so the namespace's own stack ignores them.
//
// Precision: the delay runs from the kernel's receive timestamp (SO_TIMESTAMPNS), not
// from when this process woke up, and frames leave from an absolute CLOCK_REALTIME
// timerfd with 1 ns timer slack; --realtime (SCHED_FIFO) keeps wake-ups on time on a
// loaded machine. Frames keep their virtio-net header (PACKET_VNET_HDR) so partial
// checksums and GSO super-frames cross unchanged, as on a plain veth.
//
// Memory is fixed at start: a byte ring per direction (--queue-bytes); a frame that does
// not fit is dropped and counted. SIGTERM/SIGINT: exit 0 (frames in flight are dropped).
// SIGUSR1 or exit: counters on stderr. Prints "ready" on stdout once every socket is bound.
// --name (the topology's prefix) only labels the process, so tools can tell whose it is.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"

namespace {

// struct virtio_net_hdr (linux/virtio_net.h, which does not compile as C++): 10 bytes.
constexpr std::size_t vnet_hdr_len = 10;
constexpr std::size_t max_frame = 65536 + vnet_hdr_len + 64;  // a GSO super-frame
constexpr std::int64_t ns_per_s = 1'000'000'000;

std::int64_t to_ns(const timespec& ts) { return std::int64_t{ts.tv_sec} * ns_per_s + ts.tv_nsec; }

std::int64_t now_realtime_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return to_ns(ts);
}

// FIFO of frames with their due times in one preallocated byte ring. Each record is
// [u32 length][i64 due][frame], 8-byte aligned; a record never wraps: when it does not
// fit before the end, the end is marked skipped and it goes at the start.
class delay_queue {
  public:
    explicit delay_queue(std::size_t bytes)
        : cap_(bytes & ~std::size_t{7}), buf_(new std::byte[cap_]) {}

    bool push(std::int64_t due, const std::byte* data, std::size_t len) {
        const std::size_t need = record_size(len);
        if (need > cap_) return false;
        std::size_t at = tail_;
        if (count_ > 0 && tail_ <= head_) {
            // Used region wraps: free space is [tail, head).
            if (head_ - tail_ < need) return false;
        } else {
            // Free space is [tail, cap) and [0, head).
            if (cap_ - tail_ < need) {
                if (head_ < need && count_ > 0) return false;
                if (cap_ - tail_ >= header) write_len(tail_, skip_marker);
                at = 0;
                if (count_ == 0) head_ = 0;
            }
        }
        write_len(at, static_cast<std::uint32_t>(len));
        std::memcpy(buf_.get() + at + 4, &due, sizeof due);
        std::memcpy(buf_.get() + at + header, data, len);
        tail_ = at + need;
        if (tail_ == cap_) tail_ = 0;
        ++count_;
        return true;
    }

    bool empty() const { return count_ == 0; }

    // The oldest frame (valid until pop()).
    std::int64_t front_due() {
        skip_marker_at_head();
        std::int64_t due = 0;
        std::memcpy(&due, buf_.get() + head_ + 4, sizeof due);
        return due;
    }
    std::pair<const std::byte*, std::size_t> front() {
        skip_marker_at_head();
        return {buf_.get() + head_ + header, read_len(head_)};
    }
    void pop() {
        skip_marker_at_head();
        head_ += record_size(read_len(head_));
        if (head_ == cap_) head_ = 0;
        if (--count_ == 0) head_ = tail_ = 0;
    }

  private:
    static constexpr std::size_t header = 12;
    static constexpr std::uint32_t skip_marker = 0xffffffffu;
    static std::size_t record_size(std::size_t len) { return (header + len + 7) & ~std::size_t{7}; }
    void write_len(std::size_t at, std::uint32_t v) { std::memcpy(buf_.get() + at, &v, 4); }
    std::uint32_t read_len(std::size_t at) const {
        std::uint32_t v = 0;
        std::memcpy(&v, buf_.get() + at, 4);
        return v;
    }
    void skip_marker_at_head() {
        if (cap_ - head_ < header || read_len(head_) == skip_marker) head_ = 0;
    }

    std::size_t cap_;
    std::unique_ptr<std::byte[]> buf_;  // default-initialised: pages are touched only when used
    std::size_t head_ = 0, tail_ = 0, count_ = 0;
};

struct direction {
    std::string from, to;
    int in_fd = -1, out_fd = -1;
    std::int64_t delay_ns = 0;
    delay_queue queue;
    std::uint64_t forwarded = 0, dropped_full = 0, dropped_oversize = 0, send_errors = 0;
};

int open_packet_socket(const std::string& ifname) {
    const unsigned index = ::if_nametoindex(ifname.c_str());
    if (index == 0) throw std::runtime_error("no interface '" + ifname + "'");
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) throw std::runtime_error(std::string{"socket(AF_PACKET): "} + std::strerror(errno));
    const int one = 1;
    // Our own transmissions on this interface are not input.
    if (::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 ||
        ::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0)
        throw std::runtime_error(ifname + ": setsockopt: " + std::strerror(errno));
    const int rcvbuf = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);  // best effort
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(index);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0)
        throw std::runtime_error(ifname + ": bind: " + std::strerror(errno));
    return fd;
}

struct pair_spec {
    std::string a, b;
    std::int64_t delay_us = 0;
};

std::optional<pair_spec> parse_pair(const std::string& s) {
    const auto c1 = s.find(','), c2 = s.rfind(',');
    if (c1 == std::string::npos || c1 == c2) return std::nullopt;
    pair_spec p{s.substr(0, c1), s.substr(c1 + 1, c2 - c1 - 1), 0};
    const std::string d = s.substr(c2 + 1);
    if (p.a.empty() || p.b.empty() || p.a.size() >= IFNAMSIZ || p.b.size() >= IFNAMSIZ ||
        d.empty() || d.size() > 8 || d.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    p.delay_us = std::stoll(d);
    if (p.delay_us > 10'000'000) return std::nullopt;
    return p;
}

void log_counters(const std::vector<std::unique_ptr<direction>>& dirs) {
    for (const auto& d : dirs)
        spdlog::info("{} -> {}: forwarded {} dropped: queue full {} oversize {} send errors {}",
                     d->from, d->to, d->forwarded, d->dropped_full, d->dropped_oversize,
                     d->send_errors);
}

// Receives everything waiting on d.in_fd into d's queue (stamped with the kernel's
// receive time). Returns false on a fatal socket error.
bool drain_input(direction& d, std::byte* frame) {
    for (int budget = 0; budget < 256; ++budget) {
        iovec iov{frame, max_frame};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(d.in_fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return true;
            spdlog::error("{}: recvmsg: {}", d.from, std::strerror(errno));
            return errno == ENETDOWN;  // link flapping is not fatal
        }
        if (static_cast<std::size_t>(n) > max_frame) {
            ++d.dropped_oversize;
            continue;
        }
        std::int64_t rx = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                timespec ts{};
                std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
                rx = to_ns(ts);
            }
        if (rx == 0) rx = now_realtime_ns();
        if (!d.queue.push(rx + d.delay_ns, frame, static_cast<std::size_t>(n))) ++d.dropped_full;
    }
    return true;
}

// Sends every frame that is due; returns the earliest due time still queued (0: none).
std::int64_t send_due(std::vector<std::unique_ptr<direction>>& dirs) {
    const std::int64_t now = now_realtime_ns();
    std::int64_t next = 0;
    for (auto& d : dirs) {
        while (!d->queue.empty() && d->queue.front_due() <= now) {
            const auto [data, len] = d->queue.front();
            if (::send(d->out_fd, data, len, MSG_DONTWAIT) < 0)
                ++d->send_errors;
            else
                ++d->forwarded;
            d->queue.pop();
        }
        if (!d->queue.empty()) {
            const std::int64_t due = d->queue.front_due();
            if (next == 0 || due < next) next = due;
        }
    }
    return next;
}

void arm(int tfd, std::int64_t due) {
    itimerspec its{};
    if (due > 0) {
        its.it_value.tv_sec = due / ns_per_s;
        its.it_value.tv_nsec = due % ns_per_s;
    }
    ::timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "jitsu-delayline: constant-delay links between interface pairs (user-space netem)"};
    std::vector<std::string> pairs;
    bool realtime = false;
    std::size_t queue_bytes = 8 << 20;
    int verbose = 0;
    bool quiet = false;
    std::string name;
    app.add_option("--pair", pairs, "A,B,DELAY_US: frames cross A<->B after DELAY_US (0..10^7)")
        ->required();
    app.add_flag("--realtime", realtime, "SCHED_FIFO priority 20 (precise wake-ups under load)");
    app.add_option("--queue-bytes", queue_bytes, "ring per direction (default 8 MiB)")
        ->check(CLI::Range(std::size_t{1} << 20, std::size_t{1} << 30));
    app.add_option("--name", name, "a label: whose delay line this is (shown in ps and the log)");
    app.add_flag("-v", verbose, "more logging");
    app.add_flag("-q", quiet, "warnings and errors only");
    CLI11_PARSE(app, argc, argv);
    jitsu::init_logging(name.empty() ? std::string{"jitsu-delayline"} : "jitsu-delayline/" + name,
                        quiet ? -1 : verbose);

    std::vector<std::unique_ptr<direction>> dirs;
    try {
        for (const auto& s : pairs) {
            const auto p = parse_pair(s);
            if (!p) {
                spdlog::error("bad --pair '{}' (A,B,DELAY_US)", s);
                return 2;
            }
            const int fa = open_packet_socket(p->a), fb = open_packet_socket(p->b);
            dirs.push_back(std::make_unique<direction>(
                direction{p->a, p->b, fa, fb, p->delay_us * 1000, delay_queue{queue_bytes}}));
            dirs.push_back(std::make_unique<direction>(
                direction{p->b, p->a, fb, fa, p->delay_us * 1000, delay_queue{queue_bytes}}));
        }
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }

    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    if (realtime) {
        sched_param sp{};
        sp.sched_priority = 20;
        if (::sched_setscheduler(0, SCHED_FIFO, &sp) != 0)
            spdlog::warn("SCHED_FIFO refused ({}): delays may stretch under load",
                         std::strerror(errno));
    }

    sigset_t sigs;
    sigemptyset(&sigs);
    for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGHUP}) sigaddset(&sigs, s);
    ::sigprocmask(SIG_BLOCK, &sigs, nullptr);
    const int sfd = ::signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    const int tfd = ::timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || tfd < 0 || ep < 0) {
        spdlog::error("signalfd/timerfd/epoll: {}", std::strerror(errno));
        return 1;
    }
    auto watch = [&](int fd, std::uint64_t tag) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = tag;
        return ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;
    };
    constexpr std::uint64_t tag_signal = ~std::uint64_t{0}, tag_timer = tag_signal - 1;
    bool ok = watch(sfd, tag_signal) && watch(tfd, tag_timer);
    for (std::size_t i = 0; i < dirs.size(); ++i) ok = ok && watch(dirs[i]->in_fd, i);
    if (!ok) {
        spdlog::error("epoll_ctl: {}", std::strerror(errno));
        return 1;
    }

    for (const auto& d : dirs)
        spdlog::info("{} -> {}: delay {} us", d->from, d->to, d->delay_ns / 1000);
    std::printf("ready\n");
    std::fflush(stdout);

    const auto frame = std::make_unique<std::byte[]>(max_frame);
    std::int64_t armed = 0;
    for (;;) {
        epoll_event evs[16];
        const int n = ::epoll_wait(ep, evs, 16, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            spdlog::error("epoll_wait: {}", std::strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            const std::uint64_t tag = evs[i].data.u64;
            if (tag == tag_signal) {
                signalfd_siginfo si{};
                while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
                    if (si.ssi_signo == SIGUSR1) {
                        log_counters(dirs);
                        continue;
                    }
                    log_counters(dirs);
                    return 0;
                }
            } else if (tag == tag_timer) {
                std::uint64_t expirations = 0;
                [[maybe_unused]] const auto r = ::read(tfd, &expirations, sizeof expirations);
            } else if (!drain_input(*dirs[tag], frame.get())) {
                return 1;
            }
        }
        // Frames due now leave at once (zero delay, or a late wake-up); then the timer is
        // set for the earliest one still queued.
        const std::int64_t next = send_due(dirs);
        if (next != armed) {
            arm(tfd, next);
            armed = next;
        }
    }
}
