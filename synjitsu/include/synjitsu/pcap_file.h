#pragma once
// Offline frame I/O over pcap files (libpcap): a reader with the capture's clock, and a
// frame_sink that dumps what synjitsu would send. Output files use nanosecond
// timestamps and Ethernet link type, so identical input gives identical bytes.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "synjitsu/frame_io.h"

namespace jitsu::synjitsu {

class pcap_file_reader {
  public:
    // Throws std::runtime_error if the file cannot be read or is not Ethernet.
    explicit pcap_file_reader(const std::string& path);
    ~pcap_file_reader();
    pcap_file_reader(const pcap_file_reader&) = delete;
    pcap_file_reader& operator=(const pcap_file_reader&) = delete;

    // The next frame (valid until the next call) and its capture time in unix ns.
    // False at the end of the file; throws on a read error.
    bool next(std::span<const std::uint8_t>& frame, std::uint64_t& time_ns);

  private:
    struct handle;
    std::unique_ptr<handle> h_;
};

class pcap_file_writer final : public frame_sink {
  public:
    // Throws std::runtime_error if the file cannot be created.
    explicit pcap_file_writer(const std::string& path);
    ~pcap_file_writer() override;
    pcap_file_writer(const pcap_file_writer&) = delete;
    pcap_file_writer& operator=(const pcap_file_writer&) = delete;

    bool send(std::span<const std::uint8_t> frame, std::uint64_t time_ns) override;
    // Flushes and closes; throws if the data could not be written.
    void close();

  private:
    struct handle;
    std::unique_ptr<handle> h_;
};

}  // namespace jitsu::synjitsu
