#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>

#include "synjitsu/engine.h"
#include "synjitsu/memory_queue_store.h"
#include "synjitsu/pcap_file.h"
#include "synjitsu/runners.h"
#include "synjitsu/xenstore_queue_store.h"
#include "synjitsu/xenstore_state.h"

namespace jitsu::synjitsu {

namespace {

// Runs `io` until `done()` or `limit` passes; false on timeout.
template <class Done>
bool run_until(boost::asio::io_context& io, Done done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        io.run_one_for(std::chrono::milliseconds(50));
        if (io.stopped()) io.restart();
    }
    return true;
}

}  // namespace

int run_offline(const config& cfg, std::ostream& dump) {
    pcap_file_reader reader(cfg.pcap_in);
    std::unique_ptr<pcap_file_writer> writer;
    null_sink discard;
    if (!cfg.pcap_out.empty()) writer = std::make_unique<pcap_file_writer>(cfg.pcap_out);
    frame_sink& sink = writer ? static_cast<frame_sink&>(*writer) : discard;

    const char* xs_env = std::getenv("XENSTORED_PATH");
    const bool use_xenstore = !cfg.dump_queue && xs_env != nullptr && *xs_env != '\0';

    metrics m;
    boost::asio::io_context io;
    std::unique_ptr<xenstore::client> client;
    std::unique_ptr<queue_store> store;
    memory_queue_store* memory = nullptr;
    if (use_xenstore) {
        xenstore::client_options opts;
        opts.reconnect = false;
        client = std::make_unique<xenstore::client>(io.get_executor(), opts);
        std::error_code ec = make_error_code(xenstore::client_errc::not_connected);
        bool finished = false;
        boost::asio::co_spawn(
            io,
            [&]() -> xenstore::asio::awaitable<void> {
                auto r = co_await client->connect();
                ec = r.error();
                finished = true;
            },
            boost::asio::detached);
        run_until(
            io, [&] { return finished; }, std::chrono::seconds(10));
        if (ec) {
            spdlog::error("cannot reach Xenstore at {}: {}", opts.socket_path, ec.message());
            return exit_xenstore;
        }
        store = std::make_unique<xenstore_queue_store>(*client);
    } else {
        auto mem = std::make_unique<memory_queue_store>();
        memory = mem.get();
        store = std::move(mem);
    }

    engine eng(sink, *store, m, cfg.limits, offline_isn_key, cfg.max_vms);
    std::uint64_t now = 0;
    auto drain = [&] {
        if (!use_xenstore) return;
        if (!run_until(
                io, [&] { return eng.writer().idle(); }, std::chrono::seconds(30))) {
            spdlog::warn("Xenstore writes still pending after 30 s");
        }
    };
    std::unique_ptr<xenstore_state> state;
    bool started = false;
    auto start = [&](std::uint64_t t) {
        started = true;
        now = t;
        for (const auto& b : cfg.booting) eng.add_vm(b.ip, b.mac, vm_source::command_line, t);
        if (use_xenstore) {
            state = std::make_unique<xenstore_state>(*client, eng, [&] { return now; });
            bool synced = false;
            boost::asio::co_spawn(
                io,
                [&]() -> xenstore::asio::awaitable<void> {
                    co_await state->sync();
                    synced = true;
                },
                boost::asio::detached);
            run_until(
                io, [&] { return synced; }, std::chrono::seconds(10));
        }
    };

    std::span<const std::uint8_t> frame;
    std::uint64_t t = 0;
    while (reader.next(frame, t)) {
        if (!started) start(t);
        now = std::max(now, t);
        eng.on_tick(now);
        eng.on_frame(frame, now);
        drain();
    }
    if (!started) start(0);
    eng.flush_announcements();
    drain();
    if (writer) writer->close();
    if (client) client->close();
    if (cfg.dump_queue && memory != nullptr) dump << format_queue_dump(memory->records());
    dump.flush();
    spdlog::info("offline run done:\n{}", format_metrics_text(m));
    if (!cfg.metrics_file.empty() &&
        !write_file_atomically(cfg.metrics_file, format_metrics_prometheus(m))) {
        spdlog::error("cannot write {}", cfg.metrics_file);
        return exit_failure;
    }
    return exit_ok;
}

}  // namespace jitsu::synjitsu
