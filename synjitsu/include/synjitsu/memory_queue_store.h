#pragma once
// memory_queue_store: the queue kept in a map with Xenstore's semantics (managed IPs,
// count updates), completing synchronously. Offline runs print it with --dump-queue.

#include <map>
#include <set>
#include <string>

#include "synjitsu/queue_store.h"

namespace jitsu::synjitsu {

class memory_queue_store final : public queue_store {
  public:
    void add(const queued_syn& syn, std::uint32_t delta, done_fn done) override;
    void remove(const four_tuple& tuple, done_fn done) override;

    // What a guest taking over would do: the IP becomes managed.
    void set_managed(const ip_address& ip) { managed_.insert(ip); }
    // Records in 4-tuple order.
    const std::map<four_tuple, queued_syn>& records() const { return records_; }

  private:
    std::map<four_tuple, queued_syn> records_;
    std::set<ip_address> managed_;
};

// One line per record, in 4-tuple order:
// <ip> <local_port> <remote_ip> <remote_port> count=N sequence=S tx_isn=I tx_wnd=W
// rx_wnd=R rx_wnd_scaleoffer=K mac=M time=T frame=<hex> options=<sexp>
std::string format_queue_dump(const std::map<four_tuple, queued_syn>& records);
std::string format_queue_line(const queued_syn& syn);

}  // namespace jitsu::synjitsu
