// The pure parts of the netns backend: jitsu-netvm's argument vector, domid choice, and
// recognising a jitsu-netvm from its /proc command line.
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "common/format.h"
#include "jitsu_dns/netns_backend.h"

namespace jitsu::dns {
namespace {

std::string seconds_text(std::chrono::milliseconds ms) {
    return fmt::format("{}.{:03}", ms.count() / 1000, ms.count() % 1000);
}

std::string_view base_name(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::vector<std::string> netvm_argv(const vm_spec& vm, std::uint32_t domid,
                                    const std::string& netvm, const backend_options& options,
                                    std::optional<int> ready_fd) {
    const auto fail = [&](std::string_view why) {
        throw backend_error(fmt::format("VM {}: netns backend: {}", vm.name, why));
    };
    if (vm.nic.empty()) fail("nic= (the bridge to attach the VM to) is required");
    if (vm.cmd.find_first_not_of(' ') == std::string::npos)
        fail("cmd= (the server to run) is required");
    // jitsu-netvm gives the VM one address: with both, the AAAA answer would name an
    // address nothing answers on. Refused (SERVFAIL and an error node) instead.
    if (vm.ip && vm.ip6) fail("a VM has one address on this backend: give ip= or ip6=, not both");
    if (vm.name.size() > netvm_max_name_length) {
        fail(fmt::format("name= may have at most {} characters for jitsu-netvm",
                         netvm_max_name_length));
    }
    std::vector<std::string> argv{netvm, "--name", vm.name, "--bridge", vm.nic};
    argv.emplace_back("--ip");
    if (vm.ip) {
        argv.push_back(
            fmt::format("{}/{}", *vm.ip, vm.prefix_len.value_or(options.default_prefix_v4)));
    } else {
        argv.push_back(
            fmt::format("{}/{}", *vm.ip6, vm.prefix_len.value_or(options.default_prefix_v6)));
    }
    argv.insert(argv.end(), {"--mac", vm.mac.to_string()});
    if (vm.gateway) argv.insert(argv.end(), {"--gateway", vm.gateway->to_string()});
    argv.insert(argv.end(),
                {"--boot-delay", seconds_text(vm.boot_delay), "--domid", std::to_string(domid)});
    if (vm.wait_for_key) argv.insert(argv.end(), {"--ready-key", *vm.wait_for_key});
    // wait_for_port: the VM goes on the wire once that port (not just any) listens.
    if (vm.wait_for_port) argv.insert(argv.end(), {"--listen", std::to_string(*vm.wait_for_port)});
    if (!options.bridge_netns.empty())
        argv.insert(argv.end(), {"--netns-of-bridge", options.bridge_netns});
    if (ready_fd) argv.insert(argv.end(), {"--ready-fd", std::to_string(*ready_fd)});
    argv.insert(argv.end(), options.netvm_extra_args.begin(), options.netvm_extra_args.end());
    argv.emplace_back("--");
    // cmd= is split on spaces (no shell): runs of spaces separate words.
    std::size_t pos = 0;
    while (pos < vm.cmd.size()) {
        const auto start = vm.cmd.find_first_not_of(' ', pos);
        if (start == std::string::npos) break;
        const auto end = std::min(vm.cmd.find(' ', start), vm.cmd.size());
        argv.push_back(vm.cmd.substr(start, end - start));
        pos = end;
    }
    return argv;
}

std::uint32_t lowest_free_domid(const std::set<std::uint32_t>& used) {
    std::uint32_t d = 1;
    for (auto it = used.lower_bound(1); it != used.end() && *it == d; ++it) ++d;
    return d;
}

std::optional<netvm_cmdline> parse_netvm_cmdline(std::string_view cmdline,
                                                 std::string_view program) {
    std::vector<std::string_view> args;
    std::size_t pos = 0;
    while (pos < cmdline.size() && args.size() < 4096) {
        auto end = cmdline.find('\0', pos);
        if (end == std::string_view::npos) end = cmdline.size();
        args.push_back(cmdline.substr(pos, end - pos));
        pos = end + 1;
    }
    std::size_t first = 0;
    if (!args.empty() && base_name(args[0]) == program) {
        first = 1;
    } else if (args.size() > 1 && base_name(args[1]) == program) {
        first = 2;  // run through an interpreter (#! script)
    } else {
        return std::nullopt;
    }
    netvm_cmdline out;
    bool named = false;
    for (std::size_t i = first; i < args.size(); ++i) {
        const std::string_view a = args[i];
        if (a == "--") break;  // CMD's own arguments follow
        std::optional<std::string_view> value;
        std::string_view option = a;
        if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string_view::npos) {
            option = a.substr(0, eq);
            value = a.substr(eq + 1);
        } else if ((a == "--name" || a == "--domid") && i + 1 < args.size()) {
            value = args[++i];
        }
        if (option == "--name" && value) {
            out.name = std::string(*value);
            named = true;
        } else if (option == "--domid" && value) {
            std::uint64_t d = 0;
            bool ok = !value->empty() && value->size() <= 10;
            for (char c : *value) {
                ok = ok && c >= '0' && c <= '9';
                d = d * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (ok && d <= std::numeric_limits<std::uint32_t>::max())
                out.domid = static_cast<std::uint32_t>(d);
        }
    }
    if (!named) return std::nullopt;
    return out;
}

}  // namespace jitsu::dns
