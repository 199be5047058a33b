#include "jitsu_ctl/xenstore_reader.h"

#include <fmt/format.h>

#include <chrono>

#include "xenstore/blocking_client.h"

namespace jitsu::ctl {

namespace {

class xenstore_reader final : public tree_reader {
  public:
    explicit xenstore_reader(xenstore::client_options options) : xs_(std::move(options)) {}

    void connect(const std::string& path) {
        auto r = xs_.connect();
        if (!r.ok()) {
            throw read_error(fmt::format("Xenstore at {}: {}", path, r.error().message()));
        }
    }

    std::optional<std::string> read(std::string_view path) override {
        auto r = xs_.read(path);
        if (r.ok()) return std::move(*r);
        return missing_or_throw(path, r.error());
    }

    std::optional<std::vector<std::string>> directory(std::string_view path) override {
        auto r = xs_.directory(path);
        if (r.ok()) return std::move(*r);
        missing_or_throw(path, r.error());
        return std::nullopt;
    }

  private:
    static std::nullopt_t missing_or_throw(std::string_view path, std::error_code ec) {
        if (ec == std::errc::no_such_file_or_directory) return std::nullopt;
        throw read_error(fmt::format("Xenstore read of {}: {}", path, ec.message()));
    }

    xenstore::blocking_client xs_;
};

}  // namespace

std::unique_ptr<tree_reader> connect_xenstore_reader(const std::string& socket_path) {
    xenstore::client_options options;
    options.socket_path = socket_path;
    options.reconnect = false;
    options.request_timeout = std::chrono::seconds(5);
    auto reader = std::make_unique<xenstore_reader>(std::move(options));
    reader->connect(socket_path);
    return reader;
}

}  // namespace jitsu::ctl
