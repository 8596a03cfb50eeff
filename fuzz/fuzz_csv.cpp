// libFuzzer target: the CSV loader.
#include <cstdint>
#include <string>

#include "framework/errors.hpp"
#include "models/data/datasets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto d = xgrad::parse_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
        (void)d.X.size();
    } catch (const xgrad::IoError&) {
    }
    return 0;
}
