#include "synjitsu/pcap_file.h"

#include <pcap/pcap.h>

#include <stdexcept>

namespace jitsu::synjitsu {

namespace {
constexpr int snaplen = 262144;
}

struct pcap_file_reader::handle {
    pcap_t* pcap = nullptr;
    ~handle() {
        if (pcap != nullptr) pcap_close(pcap);
    }
};

pcap_file_reader::pcap_file_reader(const std::string& path) : h_(std::make_unique<handle>()) {
    char err[PCAP_ERRBUF_SIZE] = {};
    h_->pcap =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    if (h_->pcap == nullptr) throw std::runtime_error("cannot read " + path + ": " + err);
    if (pcap_datalink(h_->pcap) != DLT_EN10MB) {
        throw std::runtime_error(path + ": not an Ethernet capture (link type " +
                                 std::to_string(pcap_datalink(h_->pcap)) + ")");
    }
}

pcap_file_reader::~pcap_file_reader() = default;

bool pcap_file_reader::next(std::span<const std::uint8_t>& frame, std::uint64_t& time_ns) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(h_->pcap, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) return false;
    if (rc != 1) throw std::runtime_error(std::string("pcap read: ") + pcap_geterr(h_->pcap));
    frame = std::span<const std::uint8_t>(data, hdr->caplen);
    // The file holds unsigned 32-bit seconds (good until 2106); libpcap hands them over
    // sign-extended, so from 2^31 s (2038-01-19) on tv_sec comes out negative. Its low 32
    // bits are the value in the file.
    const auto seconds = static_cast<std::uint32_t>(hdr->ts.tv_sec);
    const auto fraction = static_cast<std::uint32_t>(hdr->ts.tv_usec);  // ns (precision NANO)
    time_ns = std::uint64_t{seconds} * 1'000'000'000ULL + fraction;
    return true;
}

struct pcap_file_writer::handle {
    pcap_t* pcap = nullptr;
    pcap_dumper_t* dumper = nullptr;
    ~handle() {
        if (dumper != nullptr) pcap_dump_close(dumper);
        if (pcap != nullptr) pcap_close(pcap);
    }
};

pcap_file_writer::pcap_file_writer(const std::string& path) : h_(std::make_unique<handle>()) {
    h_->pcap =
        pcap_open_dead_with_tstamp_precision(DLT_EN10MB, snaplen, PCAP_TSTAMP_PRECISION_NANO);
    if (h_->pcap == nullptr) throw std::runtime_error("pcap_open_dead failed");
    h_->dumper = pcap_dump_open(h_->pcap, path.c_str());
    if (h_->dumper == nullptr) {
        throw std::runtime_error("cannot write " + path + ": " + pcap_geterr(h_->pcap));
    }
}

pcap_file_writer::~pcap_file_writer() = default;

bool pcap_file_writer::send(std::span<const std::uint8_t> frame, std::uint64_t time_ns) {
    if (h_->dumper == nullptr) return false;
    pcap_pkthdr hdr{};
    hdr.ts.tv_sec = static_cast<time_t>(time_ns / 1'000'000'000ULL);
    hdr.ts.tv_usec = static_cast<suseconds_t>(time_ns % 1'000'000'000ULL);
    hdr.caplen = static_cast<bpf_u_int32>(frame.size());
    hdr.len = hdr.caplen;
    pcap_dump(reinterpret_cast<u_char*>(h_->dumper), &hdr, frame.data());
    return true;
}

void pcap_file_writer::close() {
    if (h_->dumper == nullptr) return;
    const bool ok = pcap_dump_flush(h_->dumper) == 0;
    pcap_dump_close(h_->dumper);
    h_->dumper = nullptr;
    if (!ok) throw std::runtime_error("pcap output: write failed");
}

}  // namespace jitsu::synjitsu
