#include "jitsu_ctl/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/ip_address.h"
#include "common/syn_record.h"

namespace jitsu::ctl {

namespace {

template <typename T>
std::optional<T> parse_number(const std::optional<std::string>& text) {
    if (!text) return std::nullopt;
    T value{};
    const char* end = text->data() + text->size();
    auto [p, ec] = std::from_chars(text->data(), end, value);
    if (ec != std::errc{} || p != end) return std::nullopt;
    return value;
}

// Keeps a value from the tree printable on one line and bounded.
std::string one_line(std::string s) {
    constexpr std::size_t max_length = 200;
    if (s.size() > max_length) s.resize(max_length);
    for (char& c : s) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    }
    return s;
}

std::optional<std::string> read_line(tree_reader& tree, const std::string& path) {
    auto v = tree.read(path);
    if (v) *v = one_line(std::move(*v));
    return v;
}

// Connection nodes /ip/<ip>/<port>/<client>/<cport>, counted up to the bound.
void count_queued(tree_reader& tree, const std::string& ip_path, vm_status& vm) {
    const auto ports = tree.directory(ip_path);
    if (!ports) return;
    for (const auto& port : *ports) {
        const auto clients = tree.directory(ip_path + "/" + port);
        if (!clients) continue;
        for (const auto& client : *clients) {
            const auto cports = tree.directory(ip_path + "/" + port + "/" + client);
            if (!cports) continue;
            vm.queued_connections += cports->size();
            if (vm.queued_connections > max_counted_connections) {
                vm.queued_connections = max_counted_connections;
                vm.queued_truncated = true;
                return;
            }
        }
    }
}

void add_synjitsu_view(tree_reader& tree, const std::string& ip_text, vm_status& vm) {
    const auto ip = ip_address::parse(ip_text);
    if (!ip) return;
    vm.synjitsu_booting = tree.read(synjitsu_booting_path(*ip)).has_value();
    const std::string ip_path = ip_state_path(*ip);
    vm.managed = tree.read(ip_path) == std::optional<std::string>("managed");
    count_queued(tree, ip_path, vm);
}

vm_status read_vm(tree_reader& tree, const std::string& uuid) {
    vm_status vm;
    vm.uuid = one_line(uuid);
    const std::string base = fmt::format("{}/{}", vm_root, uuid);
    if (const auto names = tree.directory(base + "/dns")) {
        std::vector<std::string> indices = *names;
        std::sort(indices.begin(), indices.end(), [](const std::string& a, const std::string& b) {
            return a.size() != b.size() ? a.size() < b.size() : a < b;  // 2 before 10
        });
        for (const auto& i : indices) {
            if (auto n = read_line(tree, base + "/dns/" + i + "/name")) vm.dns_names.push_back(*n);
        }
    }
    vm.ip = read_line(tree, base + "/ip");
    vm.ip6 = read_line(tree, base + "/ip6");
    vm.state = read_line(tree, base + "/state").value_or("?");
    vm.domid = parse_number<std::uint32_t>(tree.read(base + "/domid"));
    vm.last_request = parse_number<double>(tree.read(base + "/last_request"));
    if (vm.last_request && !std::isfinite(*vm.last_request)) vm.last_request.reset();
    vm.error = read_line(tree, base + "/error");
    if (auto name = read_line(tree, base + "/config/name/0")) {
        vm.name = *name;
    } else if (!vm.dns_names.empty()) {
        vm.name = vm.dns_names.front();
    } else {
        vm.name = vm.uuid;
    }
    if (vm.ip || vm.ip6) add_synjitsu_view(tree, vm.ip ? *vm.ip : *vm.ip6, vm);
    return vm;
}

std::string ago(double then, std::chrono::system_clock::time_point now) {
    const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
    const double d = now_s - then;
    if (d < 0) return "in the future";
    if (d < 100) return fmt::format("{:.1f}s ago", d);
    if (d < 2 * 3600) return fmt::format("{:.0f}m ago", d / 60);
    if (d < 2 * 86400) return fmt::format("{:.0f}h ago", d / 3600);
    return fmt::format("{:.0f}d ago", d / 86400);
}

void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c < 0x20 || c == 0x7F) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out.push_back(ch);
        }
    }
    out.push_back('"');
}

void append_json_optional(std::string& out, const std::optional<std::string>& s) {
    if (s) {
        append_json_string(out, *s);
    } else {
        out += "null";
    }
}

}  // namespace

status_report collect_status(tree_reader& tree) {
    status_report report;
    const auto uuids = tree.directory(vm_root);
    if (!uuids) return report;  // jitsu-dns has not published anything yet
    std::size_t n = uuids->size();
    if (n > max_vms) {
        n = max_vms;
        report.truncated = true;
    }
    for (std::size_t i = 0; i < n; ++i) report.vms.push_back(read_vm(tree, (*uuids)[i]));
    std::sort(report.vms.begin(), report.vms.end(), [](const vm_status& a, const vm_status& b) {
        return a.name != b.name ? a.name < b.name : a.uuid < b.uuid;
    });
    return report;
}

std::string format_table(const status_report& report, std::chrono::system_clock::time_point now) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back(
        {"NAME", "IP", "STATE", "DOMID", "LAST REQUEST", "LAST BOOT", "MASKED", "ERROR"});
    for (const auto& vm : report.vms) {
        std::string ip = vm.ip.value_or(vm.ip6.value_or("-"));
        std::string masked =
            std::to_string(vm.queued_connections) + (vm.queued_truncated ? "+" : "");
        if (vm.synjitsu_booting) masked += " (synjitsu)";
        rows.push_back({vm.name, ip, vm.state, vm.domid ? std::to_string(*vm.domid) : "-",
                        vm.last_request ? ago(*vm.last_request, now) : "-",
                        "-",  // not in the tree (see status.h)
                        masked, vm.error.value_or("-")});
    }
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    if (report.vms.empty())
        out += "(no VMs under /jitsu/vm: is jitsu-dns running on this Xenstore?)\n";
    if (report.truncated) out += fmt::format("(only the first {} VMs are shown)\n", max_vms);
    return out;
}

std::string format_json(const status_report& report) {
    std::string out = "{\"vms\":[";
    bool first = true;
    for (const auto& vm : report.vms) {
        if (!first) out += ",";
        first = false;
        out += "{\"name\":";
        append_json_string(out, vm.name);
        out += ",\"uuid\":";
        append_json_string(out, vm.uuid);
        out += ",\"dns\":[";
        for (std::size_t i = 0; i < vm.dns_names.size(); ++i) {
            if (i != 0) out += ",";
            append_json_string(out, vm.dns_names[i]);
        }
        out += "],\"ip\":";
        append_json_optional(out, vm.ip);
        out += ",\"ip6\":";
        append_json_optional(out, vm.ip6);
        out += ",\"state\":";
        append_json_string(out, vm.state);
        out += ",\"domid\":" + (vm.domid ? std::to_string(*vm.domid) : std::string("null"));
        out += ",\"last_request\":" +
               (vm.last_request ? fmt::format("{:.3f}", *vm.last_request) : std::string("null"));
        out += ",\"last_boot\":null";
        out += ",\"error\":";
        append_json_optional(out, vm.error);
        out += fmt::format(
            ",\"masked_connections\":{},\"masked_connections_truncated\":{},"
            "\"synjitsu_booting\":{},\"managed\":{}}}",
            vm.queued_connections, vm.queued_truncated, vm.synjitsu_booting, vm.managed);
    }
    out += fmt::format("],\"truncated\":{}}}\n", report.truncated);
    return out;
}

}  // namespace jitsu::ctl
