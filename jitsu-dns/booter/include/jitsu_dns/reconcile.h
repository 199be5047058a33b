#pragma once
// What the backend says of catalog VMs: at start (to adopt VMs an earlier jitsu-dns booted
// instead of booting them twice) and once a second for running VMs (to notice VMs that
// died on their own). One backend_worker job asks about every VM in turn.

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <vector>

#include "jitsu_dns/backend_worker.h"
#include "jitsu_dns/vm_spec.h"

namespace jitsu::dns {

// One outcome per index of `which`, in order; a failed status() is that VM's error only.
// `which` must live until the result is back.
boost::asio::awaitable<std::vector<backend_outcome<vm_status>>> backend_status(
    backend_worker& worker, const std::vector<vm_spec>& catalog,
    const std::vector<std::size_t>& which);

}  // namespace jitsu::dns
