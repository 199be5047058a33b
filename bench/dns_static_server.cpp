// A jitsu-dns DNS server over a static authority, without a gate or a booter: the codec
// and server alone, for bench/dns-bench (beside NSD on the same zone).
//   dns_static_server -b ADDR -l PORT --zone ZONE --names FILE [--max-udp N] [-v]
// FILE: one "name ipv4 [ttl]" per line ('#' comments). The zone's NS is ns.ZONE with
// --bind's address. SIGINT/SIGTERM stop it; the server's counters are printed on exit.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/log.h"
#include "jitsu_dns/server.h"

namespace {

jitsu::dns::authority_config load(const std::string& zone, const std::string& file,
                                  const boost::asio::ip::address& bind) {
    jitsu::dns::authority_config a;
    jitsu::dns::zone_config z;
    z.origin = zone;
    z.primary_ns = "ns." + zone;
    z.mailbox = "hostmaster." + zone;
    if (bind.is_v4() && !bind.is_unspecified())
        z.ns_ipv4.push_back(jitsu::ipv4_address(bind.to_v4().to_uint()));
    a.zones.push_back(z);
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file);
    std::string line;
    std::size_t vm = 0;
    while (std::getline(in, line)) {
        if (auto c = line.find('#'); c != std::string::npos) line.resize(c);
        std::istringstream w(line);
        std::string name, ip;
        std::uint32_t ttl = 60;
        if (!(w >> name >> ip)) continue;
        w >> ttl;
        a.names.push_back({name, vm++, ttl, jitsu::ipv4_address::parse_or_throw(ip), std::nullopt});
    }
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"jitsu-dns's DNS server over a static zone (benchmark driver)"};
    std::string bind = "127.0.0.1", zone = "bench.test", names;
    std::uint16_t port = 53, max_udp = 1232;
    int verbosity = 0;
    app.add_option("-b,--bind", bind, "address to listen on");
    app.add_option("-l,--listen", port, "port (UDP and TCP)");
    app.add_option("--zone", zone, "zone origin");
    app.add_option("--names", names, "file of 'name ipv4 [ttl]' lines")->required();
    app.add_option("--max-udp", max_udp, "EDNS payload size / UDP answer ceiling");
    app.add_flag("-v", verbosity, "more logging");
    CLI11_PARSE(app, argc, argv);
    jitsu::init_logging("dns_static_server", verbosity);
    try {
        boost::asio::io_context io(1);
        jitsu::dns::server_options o;
        o.bind = {boost::asio::ip::make_address(bind)};
        o.port = port;
        o.max_udp = max_udp;
        auto authority = load(zone, names, o.bind.front());
        std::size_t count = authority.names.size();
        jitsu::dns::server s(io, o, std::move(authority), nullptr);
        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code&, int) {
            s.stop();
            io.stop();
        });
        s.start();
        spdlog::info("serving {} names of {} on {} port {}", count, zone, bind, s.udp_port());
        io.run();
        const auto& st = s.stats();
        std::printf(
            "queries udp=%llu tcp=%llu answered=%llu nxdomain=%llu formerr=%llu dropped=%llu\n",
            static_cast<unsigned long long>(st.queries_udp),
            static_cast<unsigned long long>(st.queries_tcp),
            static_cast<unsigned long long>(st.answered),
            static_cast<unsigned long long>(st.nxdomain),
            static_cast<unsigned long long>(st.formerr),
            static_cast<unsigned long long>(st.dropped));
    } catch (const std::exception& e) {
        std::cerr << "dns_static_server: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
