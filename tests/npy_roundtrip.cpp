// npy_roundtrip IN OUT: loads a .npy or .npz with xgrad and writes it back (same kind) with xgrad.
// tests/numpy_interop.py drives it to check files in both directions against numpy itself.

#include <iostream>
#include <string>

#include "xgrad.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: npy_roundtrip IN OUT\n";
        return 2;
    }
    const std::string in = argv[1], out = argv[2];
    try {
        if (in.size() > 4 && in.substr(in.size() - 4) == ".npz")
            xgrad::save_npz(out, xgrad::load_npz(in));
        else
            xgrad::save_npy(out, xgrad::load_npy(in));
    } catch (const std::exception& e) {
        std::cerr << "npy_roundtrip: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
