#include "synjitsu/pcap_live.h"

#include <pcap/pcap.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <stdexcept>

namespace jitsu::synjitsu {

// Every part ends in "and not vlan": synjitsu serves untagged frames only (classifier.h).
// On a live Linux capture the kernel has already moved an outer 802.1Q/802.1ad tag out
// of the frame, and libpcap's "vlan" then tests that (and, offline, the in-band type);
// an inner tag of QinQ stays in the frame, so its ethertype matches nothing here.
// IPv6 with extension headers (first next header hop-by-hop 0, routing 43, fragment 44,
// destination options 60) passes whatever follows: BPF cannot walk the chain without a
// loop, and the classifier decides as it does offline.
#define JITSU_DUTY "arp or (ip6 and ip6[6] == 58 and (ip6[40] == 135 or ip6[40] == 136))"
#define JITSU_SYN                                           \
    "(ip and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn)" \
    " or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == 0x02)"
#define JITSU_IP6_EXT "(ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 60))"

const char* const duty_filter = "(" JITSU_DUTY ") and not vlan";
const char* const syn_filter = "(" JITSU_SYN " or " JITSU_IP6_EXT ") and not vlan";
const char* const capture_filter =
    "(" JITSU_DUTY " or " JITSU_SYN " or " JITSU_IP6_EXT ") and not vlan";

#undef JITSU_DUTY
#undef JITSU_SYN
#undef JITSU_IP6_EXT

namespace {

void check(pcap_t* p, int rc, const char* what) {
    if (rc < 0) {
        throw std::runtime_error(std::string(what) + ": " + pcap_statustostr(rc) + " " +
                                 pcap_geterr(p));
    }
}

}  // namespace

pcap_live::pcap_live(boost::asio::io_context& io, pcap_live_options options)
    : options_(std::move(options)), fd_(io) {
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_ = pcap_create(options_.interface.c_str(), err);
    if (pcap_ == nullptr) throw std::runtime_error(options_.interface + ": " + err);
    try {
        check(pcap_, pcap_set_snaplen(pcap_, options_.snaplen), "pcap_set_snaplen");
        // The bridge device sees frames between other ports only when promiscuous.
        check(pcap_, pcap_set_promisc(pcap_, 1), "pcap_set_promisc");
        check(pcap_, pcap_set_immediate_mode(pcap_, 1), "pcap_set_immediate_mode");
        check(pcap_, pcap_set_buffer_size(pcap_, options_.buffer_bytes), "pcap_set_buffer_size");
        check(pcap_, pcap_set_tstamp_precision(pcap_, PCAP_TSTAMP_PRECISION_NANO),
              "pcap_set_tstamp_precision");
        const int rc = pcap_activate(pcap_);
        if (rc < 0) {
            throw std::runtime_error(options_.interface + ": " + pcap_statustostr(rc) + " " +
                                     pcap_geterr(pcap_));
        }
        if (rc > 0) spdlog::warn("{}: {}", options_.interface, pcap_statustostr(rc));
        if (pcap_datalink(pcap_) != DLT_EN10MB) {
            throw std::runtime_error(options_.interface + ": not an Ethernet interface");
        }
        bpf_program prog{};
        check(pcap_, pcap_compile(pcap_, &prog, options_.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN),
              "pcap_compile");
        const int frc = pcap_setfilter(pcap_, &prog);
        pcap_freecode(&prog);
        check(pcap_, frc, "pcap_setfilter");
        check(pcap_, pcap_setdirection(pcap_, PCAP_D_IN), "pcap_setdirection");
        if (pcap_setnonblock(pcap_, 1, err) < 0) {
            throw std::runtime_error(std::string("pcap_setnonblock: ") + err);
        }
        const int fd = pcap_get_selectable_fd(pcap_);
        if (fd < 0) throw std::runtime_error("pcap: no selectable fd");
        // The descriptor stays owned by pcap: give Asio a duplicate.
        const int dup_fd = ::dup(fd);
        if (dup_fd < 0) throw std::runtime_error("dup of the pcap fd failed");
        fd_.assign(dup_fd);
    } catch (...) {
        pcap_close(pcap_);
        pcap_ = nullptr;
        throw;
    }
}

pcap_live::~pcap_live() {
    boost::system::error_code ec;
    fd_.close(ec);
    if (pcap_ != nullptr) pcap_close(pcap_);
}

void pcap_live::start(frame_handler handler) {
    handler_ = std::move(handler);
    stopped_ = false;
    wait();
}

void pcap_live::stop() {
    stopped_ = true;
    boost::system::error_code ec;
    fd_.cancel(ec);
}

void pcap_live::wait() {
    fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this](const boost::system::error_code& ec) {
                       if (!ec) drain();
                   });
}

// The descriptor's readiness is edge-triggered in Asio's reactor: keep dispatching
// (one bounded batch per turn of the loop, so timers and Xenstore replies interleave)
// until the ring is empty, and only then wait for the next edge.
void pcap_live::drain() {
    if (stopped_) return;
    const int n = pcap_dispatch(pcap_, options_.batch, &pcap_live::on_packet,
                                reinterpret_cast<unsigned char*>(this));
    if (n < 0 && n != PCAP_ERROR_BREAK) spdlog::error("pcap_dispatch: {}", pcap_geterr(pcap_));
    if (n > 0) {
        boost::asio::post(fd_.get_executor(), [this] { drain(); });
        return;
    }
    if (!stopped_) wait();
}

void pcap_live::on_packet(unsigned char* user, const ::pcap_pkthdr* hdr,
                          const unsigned char* data) {
    auto* self = reinterpret_cast<pcap_live*>(user);
    const std::uint64_t t = static_cast<std::uint64_t>(hdr->ts.tv_sec) * 1'000'000'000ULL +
                            static_cast<std::uint64_t>(hdr->ts.tv_usec);
    self->handler_(std::span<const std::uint8_t>(data, hdr->caplen), t);
}

bool pcap_live::send(std::span<const std::uint8_t> frame, std::uint64_t) {
    return pcap_inject(pcap_, frame.data(), frame.size()) == static_cast<int>(frame.size());
}

pcap_counters pcap_live::counters() const {
    pcap_stat st{};
    if (pcap_stats(pcap_, &st) != 0) return {};
    return {st.ps_recv, st.ps_drop, st.ps_ifdrop};
}

}  // namespace jitsu::synjitsu
