// --config FILE: one VMSPEC per line. The file is untrusted input: bounded in size and in
// line length, read once, every error naming FILE:LINE and the key.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "jitsu_dns/catalog.h"

namespace jitsu::dns {
namespace {

class fd_guard {
  public:
    explicit fd_guard(int fd) : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

// The whole file, refusing anything but a regular file of at most max_config_bytes
// (checked on the bytes actually read too, in case it grows meanwhile).
std::string read_bounded(const std::filesystem::path& path) {
    const std::string where = path.string();
    const auto fail = [&](const std::string& detail) { throw spec_error(where, "", detail); };
    fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd.get() < 0) fail(std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail(std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    const auto limit = catalog_limits::max_config_bytes;
    const auto too_big = [&] { fail(fmt::format("larger than {} bytes", limit)); };
    if (static_cast<std::uintmax_t>(st.st_size) > limit) too_big();
    std::string data(static_cast<std::size_t>(limit) + 1, '\0');
    std::size_t got = 0;
    while (got < data.size()) {
        const ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(std::string("cannot read: ") + std::strerror(errno));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got > limit) too_big();
    data.resize(got);
    return data;
}

std::string_view trim(std::string_view s) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::vector<vm_spec> load_config_file(const std::filesystem::path& path,
                                      const catalog_defaults& defaults) {
    const std::string data = read_bounded(path);
    std::vector<vm_spec> vms;
    std::size_t pos = 0;
    for (std::size_t line_no = 1; pos < data.size(); ++line_no) {
        const auto nl = data.find('\n', pos);
        const std::string_view line = trim(std::string_view(data).substr(
            pos, nl == std::string::npos ? std::string::npos : nl - pos));
        pos = nl == std::string::npos ? data.size() : nl + 1;
        if (line.empty() || line.front() == '#') continue;
        const std::string where = fmt::format("{}:{}", path.string(), line_no);
        if (vms.size() >= catalog_limits::max_vms) {
            throw spec_error(where, "", fmt::format("more than {} VMs", catalog_limits::max_vms));
        }
        try {
            vm_spec vm = parse_vm_spec(line, defaults);
            vm.origin = where;
            vms.push_back(std::move(vm));
        } catch (const spec_error& e) {
            throw spec_error(where, e.key(), e.detail());
        }
    }
    return vms;
}

}  // namespace jitsu::dns
