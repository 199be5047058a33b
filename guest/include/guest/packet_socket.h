#pragma once
// Send-only AF_PACKET socket bound to one interface: whole Ethernet frames out, nothing
// in (protocol 0 receives no traffic). On a veth end, a frame sent is delivered to the
// other end as if it had arrived from the wire — how jitsu-netvm hands queued SYNs to
// the VM's stack (outer end) and announces the VM (inner end).

#include <cstdint>
#include <span>
#include <system_error>

namespace jitsu::guest {

class packet_socket {
  public:
    // An unbound socket in the calling thread's namespace (create it from a thread
    // inside the namespace you need, bind it later from anywhere). Throws
    // std::system_error.
    packet_socket();
    // Binds to an interface of the socket's namespace. Throws std::system_error.
    void bind(int ifindex);
    packet_socket(packet_socket&& other) noexcept;
    packet_socket& operator=(packet_socket&& other) noexcept;
    packet_socket(const packet_socket&) = delete;
    packet_socket& operator=(const packet_socket&) = delete;
    ~packet_socket();

    std::error_code send(std::span<const std::uint8_t> frame);

  private:
    int fd_ = -1;
};

}  // namespace jitsu::guest
