#include "jitsu_dns/default_forwarder.h"

#include <boost/asio/ip/address.hpp>
#include <fstream>
#include <sstream>

namespace jitsu::dns {

std::optional<boost::asio::ip::udp::endpoint> default_forwarder(const std::string& resolv_conf,
                                                                std::uint16_t port) {
    std::ifstream in(resolv_conf);
    std::string line;
    // resolv.conf(5): "nameserver ADDR"; '#' and ';' start comments; the first one wins.
    while (std::getline(in, line)) {
        if (auto c = line.find_first_of("#;"); c != std::string::npos) line.resize(c);
        std::istringstream words(line);
        std::string key, value;
        if (!(words >> key >> value) || key != "nameserver") continue;
        boost::system::error_code ec;
        auto address = boost::asio::ip::make_address(value, ec);
        if (ec) continue;
        if (address.is_unspecified()) return std::nullopt;
        return boost::asio::ip::udp::endpoint(address, port);
    }
    return std::nullopt;
}

}  // namespace jitsu::dns
