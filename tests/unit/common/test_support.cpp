#include "test_support.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/hex.h"

namespace jitsu::test {

bytes hex(std::string_view text) {
    std::string compact;
    for (char c : text) {
        if (c != ' ' && c != '\n') compact.push_back(c);
    }
    auto decoded = from_hex(compact);
    if (!decoded) {
        std::fprintf(stderr, "bad hex in test: %.*s\n", static_cast<int>(text.size()), text.data());
        std::abort();
    }
    return *decoded;
}

const std::vector<named_frame>& scapy_vectors() {
    static const std::vector<named_frame> vectors = [] {
        const std::string path =
            std::string(JITSU_SOURCE_DIR) + "/tests/scapy/vectors/common_vectors.txt";
        std::ifstream in(path);
        if (!in) {
            std::fprintf(stderr, "cannot open %s\n", path.c_str());
            std::abort();
        }
        std::vector<named_frame> out;
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::istringstream fields(line);
            named_frame f;
            std::string text;
            fields >> f.name >> text;
            f.frame = hex(text);
            out.push_back(std::move(f));
        }
        return out;
    }();
    return vectors;
}

const bytes& scapy_vector(std::string_view name) {
    for (const auto& v : scapy_vectors()) {
        if (v.name == name) return v.frame;
    }
    std::fprintf(stderr, "no Scapy vector named %.*s\n", static_cast<int>(name.size()),
                 name.data());
    std::abort();
}

}  // namespace jitsu::test
