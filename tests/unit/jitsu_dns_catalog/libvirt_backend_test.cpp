// The libvirt backend against libvirt's in-process test driver (no daemon):
// test:///default (one running domain "test") and libvirt-node.xml (two shut-off ones).
// test:///default's state is shared by every connection of the process while one is
// open: a second backend sees the first one's domains (as a restarted jitsu-dns would),
// and the tests look at the domains through libvirt directly.
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include "jitsu_dns/backends.h"
#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

using namespace std::chrono_literals;

vm_spec vm(const std::string& name, const std::string& extra = "") {
    return parse_vm_spec("name=" + name + ",dns=" + name + ".example,ip=10.0.0.1" + extra,
                         catalog_defaults{});
}

std::unique_ptr<backend> node_backend() {
    backend_options o;
    o.connect_uri = std::string{"test://"} + JITSU_SOURCE_DIR +
                    "/tests/unit/jitsu_dns_catalog/libvirt-node.xml";
    o.stop_grace = 2s;
    return make_backend("libvirt", o);
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const backend_error& e) {
        return e.what();
    }
    return "no error";
}

TEST(jitsu_dns_libvirt, default_test_domain_lifecycle) {
    backend_options o;
    o.connect_uri = "test:///default";
    auto b = make_backend("libvirt", o);
    EXPECT_EQ(b->kind(), "libvirt");
    const auto t = vm("test");
    const auto s0 = b->status(t);
    EXPECT_EQ(s0.power, vm_power::running);
    ASSERT_TRUE(s0.domid);
    EXPECT_GE(*s0.domid, 1U);
    b->stop(t, stop_mode::suspend);
    EXPECT_EQ(b->status(t).power, vm_power::suspended);
    EXPECT_EQ(b->status(t).domid, s0.domid);
    b->resume(t);
    EXPECT_EQ(b->status(t).power, vm_power::running);
    b->stop(t, stop_mode::destroy);
    EXPECT_EQ(b->status(t).power, vm_power::stopped);
    EXPECT_FALSE(b->status(t).domid);
    const auto s1 = b->start(t);
    EXPECT_EQ(s1.power, vm_power::running);
    EXPECT_TRUE(s1.domid);
}

TEST(jitsu_dns_libvirt, node_file_domains_start_suspend_resume_stop) {
    auto b = node_backend();
    const auto alpha = vm("alpha"), beta = vm("beta");
    EXPECT_EQ(b->status(alpha).power, vm_power::stopped);
    EXPECT_EQ(b->status(beta).power, vm_power::stopped);
    const auto sa = b->start(alpha);
    EXPECT_EQ(sa.power, vm_power::running);
    ASSERT_TRUE(sa.domid);
    const auto sb = b->start(beta);
    ASSERT_TRUE(sb.domid);
    EXPECT_NE(*sa.domid, *sb.domid);
    // Starting a running domain is not an error and keeps its id.
    EXPECT_EQ(b->start(alpha).domid, sa.domid);

    b->stop(alpha, stop_mode::suspend);
    EXPECT_EQ(b->status(alpha).power, vm_power::suspended);
    b->stop(alpha, stop_mode::suspend);  // again: no error
    b->resume(alpha);
    EXPECT_EQ(b->status(alpha).power, vm_power::running);
    b->resume(alpha);  // a running domain: no error

    b->stop(alpha, stop_mode::shutdown);
    EXPECT_EQ(b->status(alpha).power, vm_power::stopped);
    b->stop(beta, stop_mode::destroy);
    EXPECT_EQ(b->status(beta).power, vm_power::stopped);
    // Stopping a stopped domain is fine; resuming one is an error.
    EXPECT_NO_THROW(b->stop(beta, stop_mode::destroy));
    EXPECT_NO_THROW(b->stop(beta, stop_mode::suspend));
    EXPECT_EQ(error_of([&] { b->resume(beta); }), "VM beta: not running, cannot resume it");
    // A suspended domain is resumed by start().
    b->start(beta);
    b->stop(beta, stop_mode::suspend);
    EXPECT_EQ(b->start(beta).power, vm_power::running);
}

TEST(jitsu_dns_libvirt, lookup_falls_back_to_the_uuid) {
    auto b = node_backend();
    // A VM whose name is not a domain, but whose uuid= is beta's.
    const auto v = vm("web", ",uuid=4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
    EXPECT_EQ(b->status(v).power, vm_power::stopped);
    b->start(v);
    EXPECT_EQ(b->status(vm("beta")).power, vm_power::running);
}

TEST(jitsu_dns_libvirt, unknown_domain_is_a_clear_error) {
    auto b = node_backend();
    const auto v = vm("gamma");
    const std::string uri = std::string{"test://"} + JITSU_SOURCE_DIR +
                            "/tests/unit/jitsu_dns_catalog/libvirt-node.xml";
    const std::string expected =
        "VM gamma: no libvirt domain named \"gamma\" or with UUID " + v.uuid + " on " + uri;
    EXPECT_EQ(error_of([&] { b->start(v); }), expected);
    EXPECT_EQ(error_of([&] { b->status(v); }), expected);
    EXPECT_EQ(error_of([&] { b->stop(v, stop_mode::destroy); }), expected);
}

// A libvirt connection of the test's own, to look behind the backend.
struct direct_connection {
    virConnectPtr conn = virConnectOpen("test:///default");
    ~direct_connection() {
        if (conn != nullptr) virConnectClose(conn);
    }
    // -1: no such domain; else virDomainIsPersistent (0 transient, 1 persistent).
    int persistent(const std::string& name) const {
        virDomainPtr d = virDomainLookupByName(conn, name.c_str());
        if (d == nullptr) return -1;
        const int p = virDomainIsPersistent(d);
        virDomainFree(d);
        return p;
    }
    std::string xml(const std::string& name) const {
        virDomainPtr d = virDomainLookupByName(conn, name.c_str());
        if (d == nullptr) return {};
        char* x = virDomainGetXMLDesc(d, 0);
        virDomainFree(d);
        std::string out = x != nullptr ? x : "";
        free(x);  // NOLINT: libvirt's malloc
        return out;
    }
};

const std::string transient_keys = ",nic=br0,memory=65536,kernel=/img/vmlinuz,initrd=/img/initrd";

TEST(jitsu_dns_libvirt, transient_domain_from_kernel) {
    direct_connection direct;
    ASSERT_NE(direct.conn, nullptr);
    backend_options o;
    o.connect_uri = "test:///default";
    o.libvirt_console_dir = "/var/log/jitsu";
    auto b = make_backend("libvirt", o);
    const auto web = vm("web", transient_keys + ",cmdline=console=ttyS0 x=<1>");
    // No domain yet: stopped, not an error; stopping it is a no-op, resuming it is not.
    EXPECT_EQ(b->status(web).power, vm_power::stopped);
    EXPECT_FALSE(b->status(web).domid);
    EXPECT_NO_THROW(b->stop(web, stop_mode::destroy));
    EXPECT_EQ(error_of([&] { b->resume(web); }), "VM web: not running, cannot resume it");
    EXPECT_EQ(direct.persistent("web"), -1);

    const auto s = b->start(web);
    EXPECT_EQ(s.power, vm_power::running);
    ASSERT_TRUE(s.domid);
    EXPECT_EQ(direct.persistent("web"), 0);  // transient
    const std::string xml = direct.xml("web");
    EXPECT_NE(xml.find("<uuid>" + web.uuid + "</uuid>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<kernel>/img/vmlinuz</kernel>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<cmdline>console=ttyS0 x=&lt;1&gt;</cmdline>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<source bridge='br0'/>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("/var/log/jitsu/web.console.log"), std::string::npos) << xml;
    EXPECT_EQ(b->start(web).domid, s.domid);  // already running: the same domain

    // A second backend (a restarted jitsu-dns) finds it: adoption.
    {
        auto again = make_backend("libvirt", o);
        const auto seen = again->status(web);
        EXPECT_EQ(seen.power, vm_power::running);
        EXPECT_EQ(seen.domid, s.domid);
    }

    b->stop(web, stop_mode::suspend);
    EXPECT_EQ(b->status(web).power, vm_power::suspended);
    EXPECT_EQ(b->start(web).power, vm_power::running);  // resumed, not created twice
    EXPECT_EQ(b->status(web).domid, s.domid);

    // A transient domain vanishes when it stops.
    b->stop(web, stop_mode::destroy);
    EXPECT_EQ(b->status(web).power, vm_power::stopped);
    EXPECT_EQ(direct.persistent("web"), -1);
    const auto s2 = b->start(web);
    ASSERT_TRUE(s2.domid);
    EXPECT_NE(*s2.domid, *s.domid);
    b->stop(web, stop_mode::shutdown);
    EXPECT_EQ(b->status(web).power, vm_power::stopped);
    EXPECT_EQ(direct.persistent("web"), -1);
}

TEST(jitsu_dns_libvirt, a_persistent_domain_wins_over_kernel) {
    direct_connection direct;
    backend_options o;
    o.connect_uri = "test:///default";
    auto b = make_backend("libvirt", o);
    const auto t = vm("test", transient_keys);
    ASSERT_EQ(direct.persistent("test"), 1);
    b->stop(t, stop_mode::destroy);
    EXPECT_EQ(b->status(t).power, vm_power::stopped);  // shut off, still defined
    EXPECT_EQ(direct.persistent("test"), 1);
    EXPECT_EQ(b->start(t).power, vm_power::running);
    EXPECT_EQ(direct.persistent("test"), 1);
    EXPECT_EQ(direct.xml("test").find("/img/vmlinuz"), std::string::npos);
}

TEST(jitsu_dns_libvirt, transient_domain_refusals_are_one_line) {
    backend_options o;
    o.connect_uri = "test:///default";
    auto b = make_backend("libvirt", o);
    EXPECT_EQ(error_of([&] { b->start(vm("web", ",nic=br0,kernel=/k")); }),
              "VM web: a transient libvirt domain (kernel=) needs memory= (KiB)");
    EXPECT_EQ(error_of([&] { b->start(vm("web", transient_keys + ",domain_type=qemu")); }),
              "VM web: transient domains from kernel= and domain_type= need libvirt's QEMU "
              "driver, not \"TEST\" (define a persistent domain named web instead)");
}

TEST(jitsu_dns_libvirt, connection_failure_is_one_line) {
    backend_options o;
    o.connect_uri = "test:///nonexistent/node.xml";
    const std::string e = error_of([&] { make_backend("libvirt", o); });
    EXPECT_EQ(e.rfind("libvirt backend: cannot connect to test:///nonexistent/node.xml: ", 0), 0U)
        << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    o.connect_uri = "nosuchdriver:///x";
    const std::string e2 = error_of([&] { make_backend("libvirt", o); });
    EXPECT_EQ(e2.rfind("libvirt backend: cannot connect to nosuchdriver:///x: ", 0), 0U) << e2;
}

}  // namespace
}  // namespace jitsu::dns
