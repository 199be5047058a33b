// libFuzzer target: arbitrary bytes as a captured frame, through everything synjitsu does
// with a frame before it touches Xenstore — common's parse_frame, the TCP-options
// S-expression, and the classifier against a table with booting IPv4 and IPv6 VMs. The
// same bytes also go through the other untrusted text synjitsu parses, the
// /synjitsu/booting/<ip> value (common/booting_value.h), whose canonical form must parse
// back to the same value.
// Build: cmake -DJITSU_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang
// Run:   build-fuzz/bin/fuzz_synjitsu_frames -max_total_time=60 pcaps/synjitsu
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/booting_value.h"
#include "common/packet/frame.h"
#include "common/syn_record.h"
#include "synjitsu/booting_table.h"
#include "synjitsu/classifier.h"

namespace {

const jitsu::synjitsu::booting_table& table() {
    static const auto t = [] {
        jitsu::synjitsu::booting_table b;
        auto mac = *jitsu::mac_address::parse("02:00:0a:00:00:0a");
        b.upsert(*jitsu::ip_address::parse("10.0.0.10"), mac,
                 jitsu::synjitsu::vm_source::command_line, 0);
        b.upsert(*jitsu::ip_address::parse("fd00::10"), mac,
                 jitsu::synjitsu::vm_source::command_line, 0);
        return b;
    }();
    return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> frame(data, size);
    if (auto parsed = jitsu::packet::parse_frame(frame); parsed && parsed->tcp) {
        std::array<char, jitsu::max_tcp_options_sexp_length> text{};
        (void)jitsu::write_tcp_options_sexp(parsed->tcp->raw_options(), text);
    }
    (void)jitsu::synjitsu::classify(frame, table());

    const auto value =
        jitsu::parse_booting_value(std::string_view(reinterpret_cast<const char*>(data), size));
    if (const auto* v = std::get_if<jitsu::booting_value>(&value)) {
        const auto again = jitsu::parse_booting_value(jitsu::format_booting_value(*v));
        const auto* w = std::get_if<jitsu::booting_value>(&again);
        const bool same = w != nullptr && w->mac == v->mac && w->replay == v->replay &&
                          (v->replay != jitsu::replay_mode::host || w->ports == v->ports);
        if (!same) __builtin_trap();
    }
    return 0;
}
