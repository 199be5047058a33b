// unix_rtt: the floor for any Xenstore server on this machine — the raw AF_UNIX
// request/response round trip with Xenstore-sized messages and no protocol work.
//
// A forked echo peer reads a 16-byte header + payload and answers with a header +
// reply payload; the client times N round trips with blocking I/O, as libxenstore does.
// With --split 1 the client does what libxenstore does per request: header and payload
// in two writes, reply header and payload in two reads — the floor for any libxenstore
// client such as Xen's test-xenstore, whatever the server.
// Usage: unix_rtt [--iterations N] [--request-bytes B] [--reply-bytes B] [--split 0|1]
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t header_bytes = 16;

bool read_all(int fd, void* buf, std::size_t n) {
    auto* p = static_cast<char*>(buf);
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

bool write_all(int fd, const void* buf, std::size_t n) {
    const auto* p = static_cast<const char*>(buf);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// The peer mirrors a server's shape: read the header, then exactly `len` payload bytes,
// then send header + reply in one write.
[[noreturn]] void run_peer(int fd, std::size_t reply_bytes) {
    std::vector<char> in(header_bytes + 65536);
    std::vector<char> out(header_bytes + reply_bytes, 'a');
    for (;;) {
        std::uint32_t hdr[4];
        if (!read_all(fd, hdr, header_bytes)) _exit(0);
        if (hdr[3] > 65536 || !read_all(fd, in.data(), hdr[3])) _exit(1);
        hdr[3] = static_cast<std::uint32_t>(reply_bytes);
        std::memcpy(out.data(), hdr, header_bytes);
        if (!write_all(fd, out.data(), out.size())) _exit(1);
    }
}

long parse_arg(int argc, char** argv, std::string_view name, long fallback) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (argv[i] == name) {
            char* end = nullptr;
            long v = std::strtol(argv[i + 1], &end, 10);
            if (*end != '\0' || v < 0) {
                std::fprintf(stderr, "unix_rtt: bad value for %s: %s\n", argv[i], argv[i + 1]);
                std::exit(2);
            }
            return v;
        }
    }
    return fallback;
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            std::puts(
                "usage: unix_rtt [--iterations N] [--request-bytes B] [--reply-bytes B] [--split "
                "0|1]\n"
                "prints the mean AF_UNIX request/response round trip in ns");
            return 0;
        }
    }
    const long iterations = parse_arg(argc, argv, "--iterations", 100000);
    const auto request_bytes =
        static_cast<std::size_t>(parse_arg(argc, argv, "--request-bytes", 24));
    const auto reply_bytes = static_cast<std::size_t>(parse_arg(argc, argv, "--reply-bytes", 1));
    const bool split = parse_arg(argc, argv, "--split", 0) != 0;
    if (iterations == 0 || request_bytes > 65536 || reply_bytes > 65536) {
        std::fprintf(stderr, "unix_rtt: iterations must be > 0 and sizes <= 65536\n");
        return 2;
    }

    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
        std::perror("unix_rtt: socketpair");
        return 1;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("unix_rtt: fork");
        return 1;
    }
    if (pid == 0) {
        ::close(fds[0]);
        run_peer(fds[1], reply_bytes);
    }
    ::close(fds[1]);

    std::vector<char> request(header_bytes + request_bytes, 'p');
    std::uint32_t hdr[4] = {2 /* XS_READ */, 0, 0, static_cast<std::uint32_t>(request_bytes)};
    std::vector<char> reply(header_bytes + reply_bytes);

    auto round_trip = [&](std::uint32_t id) {
        hdr[1] = id;
        std::memcpy(request.data(), hdr, header_bytes);
        if (split) {
            return write_all(fds[0], request.data(), header_bytes) &&
                   write_all(fds[0], request.data() + header_bytes, request_bytes) &&
                   read_all(fds[0], reply.data(), header_bytes) &&
                   read_all(fds[0], reply.data() + header_bytes, reply_bytes);
        }
        return write_all(fds[0], request.data(), request.size()) &&
               read_all(fds[0], reply.data(), reply.size());
    };
    for (std::uint32_t i = 0; i < 1000; ++i) round_trip(i);  // warm up

    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < iterations; ++i) {
        if (!round_trip(static_cast<std::uint32_t>(i))) {
            std::fprintf(stderr, "unix_rtt: peer went away\n");
            return 1;
        }
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
    std::printf("%lld\n", static_cast<long long>(ns / iterations));
    return 0;
}
