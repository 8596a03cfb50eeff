// libFuzzer target: .npz parsing (zip + deflate + .npy members): the model parameter files.
#include <cstdint>
#include <string>

#include "framework/errors.hpp"
#include "framework/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto arrays = xgrad::parse_npz(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npz");
        (void)arrays.size();
    } catch (const xgrad::IoError&) {
    }
    return 0;
}
