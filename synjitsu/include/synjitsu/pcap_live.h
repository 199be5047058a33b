#pragma once
// Live frame I/O on an interface (libpcap): capture with a kernel BPF filter so only
// ARP, TCP SYNs (ACK clear) and Neighbour Solicitations/Advertisements reach user
// space; non-blocking, in immediate mode, direction "in" only (synjitsu never sees its
// own frames); the pcap fd is driven by the Asio loop (wait_read + pcap_dispatch, a
// bounded batch per wake-up); frames are sent with pcap_inject.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "synjitsu/frame_io.h"

struct pcap;
struct pcap_pkthdr;

namespace jitsu::synjitsu {

// The kernel filters: together they pass every frame the classifier acts on (ARP
// request/announcement, NS/NA, SYN) and no tagged frame; tests/unit/synjitsu/
// bpf_filter_test.cpp holds them to that. IPv6: BPF's tcp[] only knows IPv4, so the
// IPv6 parts match the common case of no extension headers by offset, and a packet
// with extension headers passes whatever follows (the classifier walks the chain).
// Live runs open two captures: one for the ARP/NDP duty and one for SYNs, so that a
// SYN flood filling its capture buffer never delays an ARP reply behind it.
extern const char* const duty_filter;     // ARP, ICMPv6 NS/NA
extern const char* const syn_filter;      // TCP SYN with ACK clear, IPv4 and IPv6
extern const char* const capture_filter;  // both

struct pcap_live_options {
    std::string interface;
    // BPF filter (pcap-filter syntax).
    std::string filter = capture_filter;
    // Kernel capture buffer (pcap_set_buffer_size).
    int buffer_bytes = 8 << 20;
    // Bytes kept per frame: any SYN with options and any ARP/NDP frame fit.
    int snaplen = 2048;
    // Frames handled per wake-up before yielding to other work (timers, Xenstore).
    int batch = 64;
};

struct pcap_counters {
    std::uint64_t received = 0;
    std::uint64_t dropped = 0;     // ps_drop: the kernel buffer was full
    std::uint64_t if_dropped = 0;  // ps_ifdrop
};

class pcap_live final : public frame_sink {
  public:
    using frame_handler = std::function<void(std::span<const std::uint8_t>, std::uint64_t)>;

    // Opens and activates the capture; throws std::runtime_error with libpcap's message.
    pcap_live(boost::asio::io_context& io, pcap_live_options options);
    ~pcap_live() override;
    pcap_live(const pcap_live&) = delete;
    pcap_live& operator=(const pcap_live&) = delete;

    // Starts delivering frames (time: capture timestamp, unix ns) on the io_context.
    void start(frame_handler handler);
    // Stops capturing (sending still works until destruction).
    void stop();
    bool send(std::span<const std::uint8_t> frame, std::uint64_t time_ns) override;
    pcap_counters counters() const;

  private:
    void wait();
    void drain();
    static void on_packet(unsigned char* user, const ::pcap_pkthdr* hdr, const unsigned char* data);

    pcap_live_options options_;
    struct pcap* pcap_ = nullptr;
    boost::asio::posix::stream_descriptor fd_;
    frame_handler handler_;
    bool stopped_ = false;
};

}  // namespace jitsu::synjitsu
