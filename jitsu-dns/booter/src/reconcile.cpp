#include "jitsu_dns/reconcile.h"

namespace jitsu::dns {

boost::asio::awaitable<std::vector<backend_outcome<vm_status>>> backend_status(
    backend_worker& worker, const std::vector<vm_spec>& catalog,
    const std::vector<std::size_t>& which) {
    // Captures by reference only (see backend_worker::run); `which` lives in this frame.
    auto out = co_await worker.run([&catalog, &which](backend& b) {
        std::vector<backend_outcome<vm_status>> all(which.size());
        for (std::size_t k = 0; k < which.size(); ++k) {
            try {
                all[k].value = b.status(catalog.at(which[k]));
            } catch (const std::exception& e) {
                all[k].error = e.what();
            }
        }
        return all;
    });
    if (out.ok()) co_return std::move(*out.value);
    std::vector<backend_outcome<vm_status>> failed(which.size());
    for (auto& f : failed) f.error = out.error;
    co_return failed;
}

}  // namespace jitsu::dns
