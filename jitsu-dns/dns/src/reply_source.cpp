#include "reply_source.h"

#include <cstring>

namespace jitsu::dns::detail {

bool enable_destination_info(int fd, bool v6) {
    const int on = 1;
    if (v6) return ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0;
    return ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0;
}

reply_source destination_of(const msghdr& h) {
    reply_source s;
    for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            // ipi_spec_dst is the local address the kernel would answer from: the
            // destination itself for unicast, an address of the interface for broadcast.
            s.family = reply_source::kind::v4;
            std::memcpy(s.address.data(), &info.ipi_spec_dst, 4);
            s.ifindex = 0;  // routing picks the way back, as for any answer
            return s;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            if (IN6_IS_ADDR_MULTICAST(&info.ipi6_addr)) return s;  // not a source: kernel picks
            s.family = reply_source::kind::v6;
            std::memcpy(s.address.data(), &info.ipi6_addr, 16);
            // A link-local address is only unique with its interface; elsewhere leave the
            // choice of interface to routing.
            if (IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr)) s.ifindex = info.ipi6_ifindex;
            return s;
        }
    }
    return s;
}

void set_reply_source(msghdr& h, const reply_source& source, reply_control& buffer) {
    if (source.family == reply_source::kind::none) {
        h.msg_control = nullptr;
        h.msg_controllen = 0;
        return;
    }
    buffer.bytes.fill(0);
    h.msg_control = buffer.bytes.data();
    h.msg_controllen = buffer.bytes.size();
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    if (source.family == reply_source::kind::v4) {
        in_pktinfo info{};
        std::memcpy(&info.ipi_spec_dst, source.address.data(), 4);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        h.msg_controllen = CMSG_SPACE(sizeof info);
    } else {
        in6_pktinfo info{};
        std::memcpy(&info.ipi6_addr, source.address.data(), 16);
        info.ipi6_ifindex = source.ifindex;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        h.msg_controllen = CMSG_SPACE(sizeof info);
    }
}

}  // namespace jitsu::dns::detail
