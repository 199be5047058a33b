#pragma once
// The OS boundary for frames: a sink synjitsu sends ARP/NA frames to. Live it is the
// pcap handle on the bridge (pcap_inject); offline a pcap file; in tests a vector.

#include <cstdint>
#include <span>

namespace jitsu::synjitsu {

class frame_sink {
  public:
    virtual ~frame_sink() = default;
    // Sends (or records) one frame; `time_ns` is the time of the decision (the capture's
    // clock offline). False if the frame could not be sent.
    virtual bool send(std::span<const std::uint8_t> frame, std::uint64_t time_ns) = 0;
};

// Swallows frames (offline runs without --pcap-out).
class null_sink final : public frame_sink {
  public:
    bool send(std::span<const std::uint8_t>, std::uint64_t) override { return true; }
};

}  // namespace jitsu::synjitsu
