// The libvirt backend against libvirt's in-process test driver (no daemon):
// test:///default (one running domain "test") and libvirt-node.xml (two shut-off ones).
#include <gtest/gtest.h>

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
