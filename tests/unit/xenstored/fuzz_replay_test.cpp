// The fuzz entry (fuzz_xenstored_requests's) over generated inputs, fixed seed: a mix
// of well-formed requests over a small name space (to reach deep states: transactions,
// watches, permissions, domains) and raw garbage, split and pipelined arbitrarily.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "xenstore/wire.h"
#include "xenstored/fuzz_entry.h"

namespace jitsu::xenstored {
namespace {

class input_generator {
  public:
    explicit input_generator(std::uint32_t seed) : rng_(seed) {}

    std::vector<std::uint8_t> make(std::size_t requests) {
        std::vector<std::uint8_t> stream;
        for (std::size_t i = 0; i < requests; ++i) {
            auto msg = one_message();
            stream.insert(stream.end(), msg.begin(), msg.end());
        }
        // Cut the stream into chunks addressed to the three clients.
        std::vector<std::uint8_t> out;
        std::size_t pos = 0;
        while (pos < stream.size()) {
            const std::uint8_t selector = static_cast<std::uint8_t>(pick(256));
            const std::size_t len = (static_cast<std::size_t>(selector >> 2) + 1) * 8;
            out.push_back(selector);
            const std::size_t n = std::min(len, stream.size() - pos);
            out.insert(out.end(), stream.begin() + static_cast<std::ptrdiff_t>(pos),
                       stream.begin() + static_cast<std::ptrdiff_t>(pos + n));
            pos += n;
        }
        return out;
    }

  private:
    std::size_t pick(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    }

    std::string path() {
        static const char* parts[] = {"a", "b", "c",  "data", "local", "domain",
                                      "5", "0", "@x", "",     "é",     "."};
        std::string p = pick(4) == 0 ? "" : "/";
        const std::size_t depth = pick(4);
        for (std::size_t i = 0; i < depth; ++i) {
            if (i) p += pick(15) == 0 ? "//" : "/";
            p += parts[pick(std::size(parts))];
        }
        if (pick(10) == 0) p = "/local/domain/" + std::to_string(pick(8)) + "/x";
        if (pick(20) == 0) p = "@introduceDomain";
        if (pick(30) == 0) p = "/" + std::string(2100, 'z');
        return p;
    }

    std::vector<std::uint8_t> one_message() {
        std::string payload;
        std::uint32_t type = static_cast<std::uint32_t>(pick(XS_TYPE_COUNT + 2));
        const std::uint32_t tx = pick(3) == 0 ? static_cast<std::uint32_t>(pick(4)) : 0;
        switch (pick(12)) {
            case 0:
                type = XS_WRITE;
                payload = path() + '\0' + std::string(pick(40), 'v');
                break;
            case 1:
                type = XS_READ;
                payload = path() + '\0';
                break;
            case 2:
                type = XS_RM;
                payload = path() + '\0';
                break;
            case 3:
                type = XS_WATCH;
                payload = path() + '\0' + "tok" + std::to_string(pick(3)) + '\0';
                break;
            case 4:
                type = XS_TRANSACTION_START;
                payload = std::string(1, '\0');
                break;
            case 5:
                type = XS_TRANSACTION_END;
                payload = pick(2) ? std::string("T\0", 2) : std::string("F\0", 2);
                break;
            case 6:
                type = XS_SET_PERMS;
                payload = path() + '\0' + "rnwbx"[pick(5)] + std::to_string(pick(7)) + '\0';
                break;
            case 7:
                type = XS_DIRECTORY_PART;
                payload = path() + '\0' + std::to_string(pick(30)) + '\0';
                break;
            case 8:
                type = XS_INTRODUCE;
                payload = std::to_string(pick(6)) + '\0' + "0" + '\0' + "1" + '\0';
                break;
            case 9: {  // raw garbage, sometimes with an absurd length
                std::vector<std::uint8_t> g(pick(40));
                for (auto& b : g) b = static_cast<std::uint8_t>(pick(256));
                if (pick(4) == 0 && g.size() >= 16) {
                    std::uint32_t len = pick(2) ? 0xFFFFFFFFu : 4097u;
                    std::memcpy(g.data() + 12, &len, 4);
                }
                return g;
            }
            default:
                for (std::size_t i = pick(30); i > 0; --i)
                    payload.push_back(static_cast<char>(pick(256)));
        }
        return xenstore::make_message(type, static_cast<std::uint32_t>(pick(100)), tx, payload);
    }

    std::mt19937 rng_;
};

TEST(xenstored_fuzz_replay, random_inputs_keep_invariants) {
    input_generator gen(20240517);
    for (int round = 0; round < 300; ++round) {
        auto input = gen.make(200);
        fuzz_one_input(input);  // aborts on any broken invariant
    }
}

TEST(xenstored_fuzz_replay, seed_corpus) {
    const std::filesystem::path dir =
        std::filesystem::path(JITSU_SOURCE_DIR) / "xenstore-proto/server/fuzz/corpus";
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
        fuzz_one_input(bytes);
        ++files;
    }
    EXPECT_GE(files, 5u);
}

TEST(xenstored_fuzz_replay, pure_noise) {
    std::mt19937 rng(7);
    for (int round = 0; round < 300; ++round) {
        std::vector<std::uint8_t> input(std::uniform_int_distribution<std::size_t>(0, 4000)(rng));
        for (auto& b : input) b = static_cast<std::uint8_t>(rng());
        fuzz_one_input(input);
    }
    fuzz_one_input({});
}

}  // namespace
}  // namespace jitsu::xenstored
