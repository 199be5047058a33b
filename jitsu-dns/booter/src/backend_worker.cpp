#include "jitsu_dns/backend_worker.h"

namespace jitsu::dns {

backend_worker::backend_worker(boost::asio::any_io_executor loop, backend& be)
    : loop_(std::move(loop)), backend_(be) {}

backend_worker::~backend_worker() { join(); }

void backend_worker::join() {
    if (joined_.exchange(true)) return;
    pool_.join();
}

}  // namespace jitsu::dns
