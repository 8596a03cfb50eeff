// libFuzzer target: .npy parsing (the path every .npy/.npz load takes).
#include <cstdint>
#include <exception>
#include <string>

#include "framework/errors.hpp"
#include "framework/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const xgrad::Array a = xgrad::parse_npy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
        (void)a.size();
    } catch (const xgrad::IoError&) {  // malformed input must end here, nowhere else
    }
    return 0;
}
