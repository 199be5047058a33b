// vm_spec -> libxl_domain_config (see libxl_config.h).
#include "jitsu_dns/libxl_config.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "libxl_headers.h"

namespace jitsu::dns {
namespace {

// libxl frees every string of its structs with free(): they must come from malloc.
char* c_string(const std::string& s) {
    char* p = ::strdup(s.c_str());
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

// The rumprun JSON config as a one-line command line, bounded.
std::string read_rumprun_config(const vm_spec& vm) {
    const auto fail = [&](const std::string& why) {
        throw backend_error(
            fmt::format("VM {}: rumprun_config \"{}\": {}", vm.name, vm.rumprun_config, why));
    };
    const int fd = ::open(vm.rumprun_config.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) fail(std::string("cannot open: ") + std::strerror(errno));
    std::string data(libxl_max_cmdline + 1, '\0');
    std::size_t got = 0;
    int read_errno = 0;
    while (got < data.size()) {
        const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) read_errno = errno;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (read_errno != 0) fail(std::string("cannot read: ") + std::strerror(read_errno));
    if (got > libxl_max_cmdline) {
        fail(fmt::format("larger than {} bytes (Xen's guest command line limit)",
                         libxl_max_cmdline));
    }
    data.resize(got);
    while (!data.empty() && (data.back() == '\n' || data.back() == '\r')) data.pop_back();
    for (char& c : data) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';  // JSON whitespace
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) fail("contains control bytes");
    }
    if (data.empty()) fail("empty");
    return data;
}

}  // namespace

void build_libxl_config(const vm_spec& vm, libxl_domain_config* out) {
    const auto fail = [&](std::string_view why) {
        throw backend_error(fmt::format("VM {}: libxl backend: {}", vm.name, why));
    };
    if (vm.kernel.empty()) fail("kernel= is required");
    if (!vm.memory_kib) fail("memory= (KiB) is required");
    if (!vm.cmdline.empty() && !vm.rumprun_config.empty())
        fail("cmdline= and rumprun_config= exclude each other");
    if (vm.cmdline.size() > libxl_max_cmdline) {
        fail(fmt::format("cmdline= is longer than {} bytes (Xen's guest command line limit)",
                         libxl_max_cmdline));
    }
    const std::string cmdline = vm.rumprun_config.empty() ? vm.cmdline : read_rumprun_config(vm);

    libxl_domain_create_info& c = out->c_info;
    c.type = LIBXL_DOMAIN_TYPE_PV;
    c.name = c_string(vm.name);
    if (libxl_uuid_from_string(&c.uuid, vm.uuid.c_str()) != 0)
        fail("uuid " + vm.uuid + " not accepted by libxl");

    libxl_domain_build_info& b = out->b_info;
    libxl_domain_build_info_init_type(&b, LIBXL_DOMAIN_TYPE_PV);
    b.max_vcpus = 1;
    b.max_memkb = *vm.memory_kib;
    b.target_memkb = *vm.memory_kib;
    b.kernel = c_string(vm.kernel);
    if (!cmdline.empty()) b.cmdline = c_string(cmdline);

    if (!vm.nic.empty()) {
        out->nics = static_cast<libxl_device_nic*>(::calloc(1, sizeof(libxl_device_nic)));
        if (out->nics == nullptr) throw std::bad_alloc();
        out->num_nics = 1;
        libxl_device_nic& nic = out->nics[0];
        libxl_device_nic_init(&nic);
        nic.devid = 0;
        nic.nictype = LIBXL_NIC_TYPE_VIF;
        nic.bridge = c_string(vm.nic);
        const auto& mac = vm.mac.bytes();
        std::memcpy(nic.mac, mac.data(), mac.size());
        if (vm.ip) nic.ip = c_string(vm.ip->to_string());
        if (!vm.script.empty()) nic.script = c_string(vm.script);
    }

    if (!vm.disks.empty()) {
        out->disks =
            static_cast<libxl_device_disk*>(::calloc(vm.disks.size(), sizeof(libxl_device_disk)));
        if (out->disks == nullptr) throw std::bad_alloc();
        for (const std::string& spec : vm.disks) {
            // The catalog checked TARGET@VDEV; the vdev has no '@'.
            const auto at = spec.rfind('@');
            libxl_device_disk& disk = out->disks[out->num_disks];
            libxl_device_disk_init(&disk);
            ++out->num_disks;  // counted once initialised, so dispose frees it
            disk.pdev_path = c_string(spec.substr(0, at));
            disk.vdev = c_string(spec.substr(at + 1));
            disk.format = LIBXL_DISK_FORMAT_RAW;
            disk.backend = LIBXL_DISK_BACKEND_UNKNOWN;
            disk.readwrite = 1;
        }
    }
}

}  // namespace jitsu::dns
