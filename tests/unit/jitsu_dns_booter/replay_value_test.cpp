// use_synjitsu with replay=guest|host: the value jitsu-dns writes to /synjitsu/booting/<ip>
// (synjitsu's contract: a bare MAC, or `<mac> replay=host[ ports=P+Q]`), and the entry's
// removal once /ip/<ip> says managed — also when synjitsu itself took the queue (host
// replay), wrote managed and perhaps removed the entry first.
#include "booter_fixture.h"
#include "common/syn_record.h"
#include "jitsu_dns/xenstore_signals.h"

namespace jitsu::dns::test {
namespace {

using verdict = vm_gate::verdict;

std::string value_of(const std::string& keys) {
    return synjitsu_booting_value(parse_vm_spec(
        "name=a,dns=a.example,ip=10.0.0.10,mac=02:00:00:00:00:0a,use_synjitsu=1" + keys, {}));
}

TEST(jitsu_dns_booter_booting_value, guest_replay_is_the_bare_mac_as_before) {
    EXPECT_EQ(value_of(""), "02:00:00:00:00:0a");
    EXPECT_EQ(value_of(",replay=guest"), "02:00:00:00:00:0a");
    // wait_for_port's port is a hint for host replay only.
    EXPECT_EQ(value_of(",replay=guest,wait_for_port=80"), "02:00:00:00:00:0a");
}

TEST(jitsu_dns_booter_booting_value, host_replay_with_its_ports) {
    EXPECT_EQ(value_of(",replay=host"), "02:00:00:00:00:0a replay=host");
    EXPECT_EQ(value_of(",replay=host,wait_for_port=80"), "02:00:00:00:00:0a replay=host ports=80");
    EXPECT_EQ(value_of(",replay=host,port=443,port=80,wait_for_port=8080"),
              "02:00:00:00:00:0a replay=host ports=443+80+8080");
    EXPECT_EQ(value_of(",replay=host,port=80,port=443,wait_for_port=443"),
              "02:00:00:00:00:0a replay=host ports=80+443");
    EXPECT_EQ(value_of(",wait_for_port=80,port=80,replay=host"),
              "02:00:00:00:00:0a replay=host ports=80");
}

struct jitsu_dns_booter_replay : booter_fixture {
    const std::string booting = synjitsu_booting_path(ip_address(ipv4_address(10, 0, 0, 10)));
    const std::string ip_node = ip_state_path(ip_address(ipv4_address(10, 0, 0, 10)));
    void SetUp() override {
        booter_fixture::SetUp();
        options.synjitsu = true;
    }
    // Boots the VM by a query; returns the booting entry as it was when the answer went out.
    std::string boot_and_read_entry() {
        auto q = query(0);
        EXPECT_EQ(*q->verdict, verdict::wait);
        if (!run_until([&] { return q->answered_ok.has_value(); }, 3s)) return "<no answer>";
        const std::string entry = xs_read(booting);
        EXPECT_TRUE(*q->answered_ok);
        EXPECT_LT(q->latency_ms(), 150.0) << "use_synjitsu answers without waiting";
        EXPECT_TRUE(run_until([&] { return gate->phase(0) == vm_phase::running; }, 3s));
        return entry;
    }
};

TEST_F(jitsu_dns_booter_replay, host_replay_writes_the_ports_and_does_not_probe) {
    add_vm(
        "name=www,dns=www.example.org,ip=10.0.0.10,mac=02:00:00:00:00:0a,use_synjitsu=1,"
        "replay=host,port=80,port=443,wait_for_port=8080,wait_timeout=5");
    backend.start_delay = 200ms;
    start_booter();
    EXPECT_EQ(boot_and_read_entry(), "02:00:00:00:00:0a replay=host ports=80+443+8080");
    // use_synjitsu masks the boot: wait_for_port is only synjitsu's hint here.
    EXPECT_EQ(gate->stats().port_waits, 0U);
    EXPECT_EQ(gate->stats().port_probes, 0U);
}

TEST_F(jitsu_dns_booter_replay, guest_replay_keeps_writing_the_bare_mac) {
    add_vm(
        "name=www,dns=www.example.org,ip=10.0.0.10,mac=02:00:00:00:00:0a,use_synjitsu=1,"
        "replay=guest");
    start_booter();
    EXPECT_EQ(boot_and_read_entry(), "02:00:00:00:00:0a");
}

TEST_F(jitsu_dns_booter_replay, entry_removed_when_synjitsu_writes_managed) {
    add_vm(
        "name=www,dns=www.example.org,ip=10.0.0.10,mac=02:00:00:00:00:0a,use_synjitsu=1,"
        "replay=host,wait_for_port=80");
    start_booter();
    EXPECT_EQ(boot_and_read_entry(), "02:00:00:00:00:0a replay=host ports=80");
    run_for(100ms);
    EXPECT_TRUE(gate->runtime(0).booting_node);
    // synjitsu took the queue and says so; the entry is jitsu-dns's to remove.
    ASSERT_TRUE(inspect->write(ip_node, "managed").ok());
    EXPECT_TRUE(run_until([&] { return xs_read(booting) == "<absent>"; }, 2s));
    EXPECT_FALSE(gate->runtime(0).booting_node);
    EXPECT_EQ(xs_read(ip_node), "managed") << "jitsu-dns must not touch the take-over mark";
}

TEST_F(jitsu_dns_booter_replay, entry_already_removed_by_synjitsu_is_fine) {
    add_vm(
        "name=www,dns=www.example.org,ip=10.0.0.10,mac=02:00:00:00:00:0a,use_synjitsu=1,"
        "replay=host");
    start_booter();
    EXPECT_EQ(boot_and_read_entry(), "02:00:00:00:00:0a replay=host");
    run_for(100ms);
    // synjitsu writes managed and drops the entry in one transaction.
    auto tx = inspect->transaction_start();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(inspect->write(ip_node, "managed", *tx).ok());
    ASSERT_TRUE(inspect->rm(booting, *tx).ok());
    ASSERT_TRUE(inspect->transaction_end(*tx, true).ok());
    EXPECT_TRUE(run_until([&] { return !gate->runtime(0).booting_node; }, 2s));
    run_for(100ms);  // the removal (ENOENT, counted as done) has finished
    EXPECT_EQ(xs_read(booting), "<absent>");
    EXPECT_EQ(xs_read(ip_node), "managed");
    // A later stop withdraws nothing more and leaves managed to the next boot's cleanup.
    EXPECT_EQ(gate->phase(0), vm_phase::running);
}

TEST_F(jitsu_dns_booter_replay, withdrawing_a_missing_entry_succeeds) {
    bool done = false;
    xenstore::result<void> r = std::make_error_code(std::errc::io_error);
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            const ip_address ip(ipv4_address(10, 0, 0, 99));
            r = co_await withdraw_booting(*xs, ip);
            done = true;
        },
        boost::asio::detached);
    ASSERT_TRUE(run_until([&] { return done; }, 2s));
    EXPECT_TRUE(r.ok()) << r.error().message();
}

}  // namespace
}  // namespace jitsu::dns::test
