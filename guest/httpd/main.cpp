// jitsu-httpd: a tiny static HTTP server for demos and benchmarks (GET / -> 200 + body).
#include <signal.h>

#include <CLI/CLI.hpp>

#include "guest/http.h"

int main(int argc, char** argv) {
    CLI::App app{"jitsu-httpd: answer GET / with 200 and a small body (keep-alive, HTTP/1.x)",
                 "jitsu-httpd"};
    jitsu::guest::httpd_config config;
    int port = 80;
    app.add_option("--port", port, "TCP port")->capture_default_str()->check(CLI::Range(1, 65535));
    app.add_option("--body", config.body, "body of GET /");
    app.add_option("--bind", config.bind, "address to bind (default: all)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    config.port = static_cast<std::uint16_t>(port);
    ::signal(SIGPIPE, SIG_IGN);
    return jitsu::guest::run_httpd(config);
}
