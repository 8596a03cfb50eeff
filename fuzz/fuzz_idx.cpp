// libFuzzer target: IDX parsing, plain and gzipped (the MNIST family's files; load_idx's only path).
#include <cstdint>
#include <string>

#include "framework/errors.hpp"
#include "framework/io/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const xgrad::Array a =
            xgrad::parse_idx(std::string(reinterpret_cast<const char*>(data), size), "fuzz.idx");
        (void)a.size();
    } catch (const xgrad::IoError&) {  // malformed input must end here, nowhere else
    }
    return 0;
}
