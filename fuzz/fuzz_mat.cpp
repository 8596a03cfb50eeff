// libFuzzer target: the .mat reader path (structure walk, then libmatio). matio reads files, so each
// input is written to a per-process file in /dev/shm (or /tmp) first.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "framework/errors.hpp"
#include "models/data/datasets.hpp"

namespace {
std::string scratch_path() {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/xgrad_fuzz_mat_" + std::to_string(getpid()) + ".mat";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = scratch_path();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        const auto d = xgrad::load_football(path);
        (void)d.train.X.size();
    } catch (const xgrad::IoError&) {
    }
    return 0;
}
