#include "xenstored/fuzz_entry.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "xenstored/core.h"
#include "xenstored/request_handler.h"
#include "xenstored/request_stream.h"
#include "xenstored/session.h"

namespace jitsu::xenstored {

namespace {

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
}

struct client {
    std::unique_ptr<session> s;
    std::unique_ptr<request_stream> stream;
};

void connect(client& c, core& state, request_handler& handler, std::uint32_t domid) {
    c.stream.reset();
    c.s = std::make_unique<session>(state, domid);
    c.stream = std::make_unique<request_stream>(handler, *c.s);
}

void check_output(const std::vector<std::uint8_t>& out) {
    std::span<const std::uint8_t> rest(out);
    while (!rest.empty()) {
        auto f = xenstore::parse_frame(rest);
        if (f.status != xenstore::frame_status::complete) broken("malformed output message");
        const auto type = f.hdr.type;
        if (type >= XS_TYPE_COUNT) broken("output message of unknown type");
        rest = rest.subspan(f.consumed);
    }
}

}  // namespace

void fuzz_one_input(std::span<const std::uint8_t> data) {
    quota_config quotas;
    quotas.output_limit = 1 << 20;
    core state(quotas);
    request_handler handler(state);
    constexpr std::array<std::uint32_t, 3> domids{0, 0, 5};
    std::array<client, 3> clients;
    for (std::size_t i = 0; i < clients.size(); ++i) connect(clients[i], state, handler, domids[i]);

    std::vector<std::uint8_t> out;
    std::size_t pos = 0;
    while (pos < data.size()) {
        const std::uint8_t selector = data[pos++];
        const std::size_t which = (selector & 3) % clients.size();
        const std::size_t want = (static_cast<std::size_t>(selector >> 2) + 1) * 8;
        std::size_t n = std::min(want, data.size() - pos);
        client& c = clients[which];
        while (n > 0) {
            auto space = c.stream->read_space();
            const std::size_t take = std::min(n, space.size());
            std::copy_n(data.data() + pos, take, space.data());
            c.stream->commit(take);
            pos += take;
            n -= take;
            auto status = request_stream::status::idle;
            for (;;) {
                status = c.stream->process();
                state.end_batch();
                // Drain every client, as reading peers would.
                for (auto& d : clients) {
                    d.s->take_output(out);
                    check_output(out);
                    d.s->output_written();
                }
                if (status != request_stream::status::blocked) break;
            }
            // A client over its output limit would be dropped: replace it.
            for (std::size_t i = 0; i < clients.size(); ++i) {
                if (clients[i].s->overflowed()) connect(clients[i], state, handler, domids[i]);
            }
            if (status == request_stream::status::close) {
                connect(c, state, handler, domids[which]);
                pos += n;  // the rest of this chunk went to the dropped connection
                break;
            }
        }
    }
    if (state.tree().check_consistency()) broken("store inconsistent");
}

}  // namespace jitsu::xenstored
