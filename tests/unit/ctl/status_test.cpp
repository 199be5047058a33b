// jitsu-ctl status over a fake Xenstore tree: what is read, what is shown, and that
// nothing from the tree can break a line or the JSON.

#include "jitsu_ctl/status.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace jitsu::ctl {
namespace {

// A tree from path -> value; directories are derived from the paths.
class fake_tree final : public tree_reader {
  public:
    void set(const std::string& path, const std::string& value) { nodes_[path] = value; }
    std::optional<std::string> read(std::string_view path) override {
        ++reads;
        auto it = nodes_.find(std::string(path));
        if (it == nodes_.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::vector<std::string>> directory(std::string_view path) override {
        ++reads;
        const std::string prefix = std::string(path) + "/";
        std::set<std::string> children;
        for (const auto& [p, v] : nodes_) {
            if (p.rfind(prefix, 0) != 0) continue;
            const auto rest = p.substr(prefix.size());
            children.insert(rest.substr(0, rest.find('/')));
        }
        if (children.empty()) return std::nullopt;
        return std::vector<std::string>(children.begin(), children.end());
    }
    std::size_t reads = 0;

  private:
    std::map<std::string, std::string> nodes_;
};

const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000100));

// Two VMs as jitsu-dns writes them: www running with queued SYNs and synjitsu masking,
// app stopped with an error and no name key.
fake_tree sample_tree() {
    fake_tree t;
    const std::string www = "/jitsu/vm/11111111-0000-0000-0000-000000000001";
    t.set(www + "/config/name/0", "www");
    t.set(www + "/dns/0/name", "www.jitsu.test");
    t.set(www + "/dns/0/ttl", "60");
    t.set(www + "/ip", "10.0.0.10");
    t.set(www + "/mac", "02:00:0a:00:00:0a");
    t.set(www + "/state", "running");
    t.set(www + "/domid", "7");
    t.set(www + "/last_request", "1700000097.500");
    t.set("/synjitsu/booting/10-0-0-10", "02:00:0a:00:00:0a");
    t.set("/ip/10-0-0-10/80/10-1-0-11/40000/syn/count", "1");
    t.set("/ip/10-0-0-10/80/10-1-0-11/40001/syn/count", "1");
    t.set("/ip/10-0-0-10/443/10-1-0-12/50000/syn/count", "2");
    const std::string app = "/jitsu/vm/22222222-0000-0000-0000-000000000002";
    t.set(app + "/dns/0/name", "app.jitsu.test");
    t.set(app + "/dns/1/name", "api.jitsu.test");
    t.set(app + "/ip", "10.0.0.11");
    t.set(app + "/state", "stopped");
    t.set(app + "/error", "boot failed: no such bridge br9");
    t.set("/ip/10-0-0-11", "managed");
    return t;
}

TEST(ctl_status, reads_every_field_the_tree_holds) {
    auto tree = sample_tree();
    const auto report = collect_status(tree);
    ASSERT_EQ(report.vms.size(), 2U);
    const auto& app = report.vms[0];        // sorted by name: app.jitsu.test < www
    EXPECT_EQ(app.name, "app.jitsu.test");  // no config/name: the first DNS name
    EXPECT_EQ(app.dns_names, (std::vector<std::string>{"app.jitsu.test", "api.jitsu.test"}));
    EXPECT_EQ(app.state, "stopped");
    EXPECT_FALSE(app.domid.has_value());
    EXPECT_FALSE(app.last_request.has_value());
    EXPECT_EQ(app.error, "boot failed: no such bridge br9");
    EXPECT_TRUE(app.managed);
    EXPECT_FALSE(app.synjitsu_booting);
    EXPECT_EQ(app.queued_connections, 0U);
    const auto& www = report.vms[1];
    EXPECT_EQ(www.name, "www");
    EXPECT_EQ(www.ip, "10.0.0.10");
    EXPECT_EQ(www.state, "running");
    EXPECT_EQ(www.domid, 7U);
    ASSERT_TRUE(www.last_request.has_value());
    EXPECT_DOUBLE_EQ(*www.last_request, 1700000097.5);
    EXPECT_TRUE(www.synjitsu_booting);
    EXPECT_EQ(www.queued_connections, 3U);
    EXPECT_FALSE(www.error.has_value());
}

TEST(ctl_status, table_has_a_header_and_one_aligned_line_per_vm) {
    auto tree = sample_tree();
    const std::string table = format_table(collect_status(tree), now);
    EXPECT_EQ(
        table,
        "NAME            IP         STATE    DOMID  LAST REQUEST  LAST BOOT  MASKED        ERROR\n"
        "app.jitsu.test  10.0.0.11  stopped  -      -             -          0             boot "
        "failed: no such bridge br9\n"
        "www             10.0.0.10  running  7      2.5s ago      -          3 (synjitsu)  -\n");
}

TEST(ctl_status, json_has_every_field_with_null_for_absent_ones) {
    auto tree = sample_tree();
    const std::string json = format_json(collect_status(tree));
    EXPECT_EQ(
        json,
        "{\"vms\":["
        "{\"name\":\"app.jitsu.test\",\"uuid\":\"22222222-0000-0000-0000-000000000002\","
        "\"dns\":[\"app.jitsu.test\",\"api.jitsu.test\"],\"ip\":\"10.0.0.11\",\"ip6\":null,"
        "\"state\":\"stopped\",\"domid\":null,\"last_request\":null,\"last_boot\":null,"
        "\"error\":\"boot failed: no such bridge br9\",\"masked_connections\":0,"
        "\"masked_connections_truncated\":false,\"synjitsu_booting\":false,\"managed\":true},"
        "{\"name\":\"www\",\"uuid\":\"11111111-0000-0000-0000-000000000001\","
        "\"dns\":[\"www.jitsu.test\"],\"ip\":\"10.0.0.10\",\"ip6\":null,"
        "\"state\":\"running\",\"domid\":7,\"last_request\":1700000097.500,\"last_boot\":null,"
        "\"error\":null,\"masked_connections\":3,"
        "\"masked_connections_truncated\":false,\"synjitsu_booting\":true,\"managed\":false}"
        "],\"truncated\":false}\n");
}

TEST(ctl_status, empty_tree_says_so) {
    fake_tree empty;
    const auto report = collect_status(empty);
    EXPECT_TRUE(report.vms.empty());
    EXPECT_NE(format_table(report, now).find("no VMs under /jitsu/vm"), std::string::npos);
    EXPECT_EQ(format_json(report), "{\"vms\":[],\"truncated\":false}\n");
}

TEST(ctl_status, hostile_values_stay_on_one_line_and_valid_json) {
    fake_tree t;
    const std::string vm = "/jitsu/vm/33333333-0000-0000-0000-000000000003";
    t.set(vm + "/config/name/0", "evil\n\"name\"\\");
    t.set(vm + "/ip", "not-an-ip");
    t.set(vm + "/state", std::string(500, 'x'));
    t.set(vm + "/domid", "12abc");
    t.set(vm + "/last_request", "nan");
    const auto report = collect_status(t);
    ASSERT_EQ(report.vms.size(), 1U);
    const auto& s = report.vms[0];
    EXPECT_EQ(s.name, "evil \"name\"\\");  // \n -> ' '
    EXPECT_EQ(s.state.size(), 200U);       // bounded
    EXPECT_FALSE(s.domid.has_value());     // not a number: absent, not garbage
    EXPECT_FALSE(s.last_request.has_value());
    const std::string table = format_table(report, now);
    EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 2);
    const std::string json = format_json(report);
    EXPECT_NE(json.find("\"name\":\"evil \\\"name\\\"\\\\\""), std::string::npos) << json;
    EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 1);
}

TEST(ctl_status, counting_masked_connections_is_bounded) {
    fake_tree t;
    t.set("/jitsu/vm/u/ip", "10.0.0.10");
    t.set("/jitsu/vm/u/state", "booting");
    for (int p = 0; p < int(max_counted_connections) + 50; ++p) {
        t.set("/ip/10-0-0-10/80/10-1-0-11/" + std::to_string(10000 + p) + "/syn/count", "1");
    }
    const auto report = collect_status(t);
    ASSERT_EQ(report.vms.size(), 1U);
    EXPECT_EQ(report.vms[0].queued_connections, max_counted_connections);
    EXPECT_TRUE(report.vms[0].queued_truncated);
    EXPECT_NE(format_table(report, now).find(std::to_string(max_counted_connections) + "+"),
              std::string::npos);
}

}  // namespace
}  // namespace jitsu::ctl
