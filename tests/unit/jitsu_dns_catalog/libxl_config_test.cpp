// The libxl backend: vm_spec -> libxl_domain_config (inspected field by field), and the
// one-line refusal on a host without Xen.
#include <gtest/gtest.h>

#include <cstring>

extern "C" {
#include <libxl.h>
}

#include "jitsu_dns/backends.h"
#include "jitsu_dns/catalog.h"
#include "jitsu_dns/libxl_config.h"
#include "temp_dir.h"

namespace jitsu::dns {
namespace {

// libxl_domain_config with its init/dispose pairing.
struct domain_config {
    libxl_domain_config c;
    domain_config() { libxl_domain_config_init(&c); }
    ~domain_config() { libxl_domain_config_dispose(&c); }
    domain_config(const domain_config&) = delete;
    domain_config& operator=(const domain_config&) = delete;
};

vm_spec vm(const std::string& extra) {
    return parse_vm_spec("name=www-xl,dns=www.example.org,ip=10.0.0.10" + extra,
                         catalog_defaults{});
}

std::string error_of(const vm_spec& v) {
    domain_config d;
    try {
        build_libxl_config(v, &d.c);
    } catch (const backend_error& e) {
        return e.what();
    }
    return "no error";
}

std::string uuid_text(const libxl_uuid& u) {
    char buf[LIBXL_UUID_FMTLEN + 1];
    std::snprintf(buf, sizeof buf, LIBXL_UUID_FMT,
                  LIBXL__UUID_BYTES(libxl_uuid_bytearray_const(&u)));
    return buf;
}

TEST(jitsu_dns_libxl, full_translation) {
    const auto v =
        vm(",uuid=de4c0ffe-0000-4000-8000-000000000ad3,kernel=/boot/mir-www.xen,memory=64000,"
           "cmdline=-v --x=y,nic=br0,script=/etc/xen/scripts/vif-bridge,"
           "disk=/dev/loop5@xvda,disk=/dev/loop6@xvdb");
    domain_config d;
    build_libxl_config(v, &d.c);
    EXPECT_EQ(d.c.c_info.type, LIBXL_DOMAIN_TYPE_PV);
    EXPECT_STREQ(d.c.c_info.name, "www-xl");
    EXPECT_EQ(uuid_text(d.c.c_info.uuid), "de4c0ffe-0000-4000-8000-000000000ad3");
    EXPECT_EQ(d.c.b_info.type, LIBXL_DOMAIN_TYPE_PV);
    EXPECT_EQ(d.c.b_info.max_memkb, 64000U);
    EXPECT_EQ(d.c.b_info.target_memkb, 64000U);
    EXPECT_EQ(d.c.b_info.max_vcpus, 1);
    EXPECT_STREQ(d.c.b_info.kernel, "/boot/mir-www.xen");
    EXPECT_STREQ(d.c.b_info.cmdline, "-v --x=y");
    ASSERT_EQ(d.c.num_nics, 1);
    const libxl_device_nic& nic = d.c.nics[0];
    EXPECT_EQ(nic.nictype, LIBXL_NIC_TYPE_VIF);
    EXPECT_STREQ(nic.bridge, "br0");
    EXPECT_STREQ(nic.ip, "10.0.0.10");
    EXPECT_STREQ(nic.script, "/etc/xen/scripts/vif-bridge");
    const std::uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x0a};
    EXPECT_EQ(std::memcmp(nic.mac, mac, 6), 0);
    ASSERT_EQ(d.c.num_disks, 2);
    EXPECT_STREQ(d.c.disks[0].pdev_path, "/dev/loop5");
    EXPECT_STREQ(d.c.disks[0].vdev, "xvda");
    EXPECT_STREQ(d.c.disks[1].pdev_path, "/dev/loop6");
    EXPECT_STREQ(d.c.disks[1].vdev, "xvdb");
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(d.c.disks[i].format, LIBXL_DISK_FORMAT_RAW);
        EXPECT_EQ(d.c.disks[i].backend, LIBXL_DISK_BACKEND_UNKNOWN);
        EXPECT_EQ(d.c.disks[i].readwrite, 1);
        EXPECT_EQ(d.c.disks[i].is_cdrom, 0);
    }
}

TEST(jitsu_dns_libxl, minimal_translation_has_no_devices) {
    const auto v = vm(",kernel=k.xen,memory=32768");
    domain_config d;
    build_libxl_config(v, &d.c);
    EXPECT_EQ(d.c.num_nics, 0);
    EXPECT_EQ(d.c.num_disks, 0);
    EXPECT_EQ(d.c.b_info.cmdline, nullptr);
    EXPECT_EQ(uuid_text(d.c.c_info.uuid), name_based_uuid("www-xl"));
}

TEST(jitsu_dns_libxl, rumprun_config_becomes_the_command_line) {
    testing::temp_dir dir;
    const auto cfg = dir.write(
        "json.cfg",
        "{\n\t\"net\": {\"if\": \"vioif0\", \"type\": \"inet\"},\r\n \"cmdline\": \"nginx\"\n}\n");
    domain_config d;
    build_libxl_config(vm(",kernel=nginx.bin,memory=64000,rumprun_config=" + cfg.string()), &d.c);
    EXPECT_STREQ(
        d.c.b_info.cmdline,
        "{  \"net\": {\"if\": \"vioif0\", \"type\": \"inet\"},   \"cmdline\": \"nginx\" }");
}

TEST(jitsu_dns_libxl, translation_errors_are_one_line_and_name_the_vm) {
    testing::temp_dir dir;
    EXPECT_EQ(error_of(vm(",memory=64000")), "VM www-xl: libxl backend: kernel= is required");
    EXPECT_EQ(error_of(vm(",kernel=k")), "VM www-xl: libxl backend: memory= (KiB) is required");
    const auto cfg = dir.write("json.cfg", "{}");
    EXPECT_EQ(error_of(vm(",kernel=k,memory=1,cmdline=x,rumprun_config=" + cfg.string())),
              "VM www-xl: libxl backend: cmdline= and rumprun_config= exclude each other");
    EXPECT_EQ(error_of(vm(",kernel=k,memory=1,cmdline=" + std::string(1024, 'c'))),
              "VM www-xl: libxl backend: cmdline= is longer than 1023 bytes (Xen's guest command "
              "line limit)");
    const auto missing = (dir.path() / "missing.cfg").string();
    EXPECT_EQ(
        error_of(vm(",kernel=k,memory=1,rumprun_config=" + missing)),
        "VM www-xl: rumprun_config \"" + missing + "\": cannot open: No such file or directory");
    const auto big = dir.write("big.cfg", std::string(1024, ' '));
    EXPECT_EQ(error_of(vm(",kernel=k,memory=1,rumprun_config=" + big.string())),
              "VM www-xl: rumprun_config \"" + big.string() +
                  "\": larger than 1023 bytes (Xen's guest command line limit)");
    EXPECT_EQ(error_of(vm(",kernel=k,memory=1,rumprun_config=" +
                          dir.write("ok.cfg", std::string(1023, ' ')).string())),
              "no error");
    const auto binary = dir.write("bin.cfg", std::string("{\x01}", 3));
    EXPECT_EQ(error_of(vm(",kernel=k,memory=1,rumprun_config=" + binary.string())),
              "VM www-xl: rumprun_config \"" + binary.string() + "\": contains control bytes");
    EXPECT_EQ(
        error_of(vm(",kernel=k,memory=1,rumprun_config=" + dir.path().string())),
        "VM www-xl: rumprun_config \"" + dir.path().string() + "\": cannot read: Is a directory");
}

// This machine has no Xen hypervisor (no /dev/xen/privcmd): the backend refuses to start
// with one line. On a Xen host, construction succeeds and this test is skipped.
TEST(jitsu_dns_libxl, needs_a_xen_host) {
    if (std::filesystem::exists("/dev/xen/privcmd") ||
        std::filesystem::exists("/proc/xen/privcmd")) {
        GTEST_SKIP() << "a Xen host: the no-Xen error path cannot be exercised here";
    }
    try {
        make_backend("libxl", backend_options{});
        FAIL() << "libxl backend constructed without Xen";
    } catch (const backend_error& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.rfind("libxl backend needs a Xen host: ", 0), 0U) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << what;
        EXPECT_GT(what.size(), std::string("libxl backend needs a Xen host: ").size());
    }
}

}  // namespace
}  // namespace jitsu::dns
