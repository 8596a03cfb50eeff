#include "framework/threads.hpp"

#include <dlfcn.h>

#include <string>

#include "framework/errors.hpp"

namespace xgrad {
namespace {
// Looked up at run time: xgrad links whichever BLAS the system provides, and only OpenBLAS has them.
using SetThreads = void (*)(int);
using GetThreads = int (*)();
}  // namespace

bool set_num_threads(std::size_t n) {
    if (n == 0 || n > 4096)
        throw ValueError("set_num_threads: n = " + std::to_string(n) + " (need 1 to 4096 threads)");
    auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (!set) return false;
    set(static_cast<int>(n));
    return true;
}

std::size_t num_threads() {
    auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    const int n = get ? get() : 1;
    return n > 0 ? static_cast<std::size_t>(n) : 1;
}

}  // namespace xgrad
