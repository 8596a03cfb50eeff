#pragma once
// Random numbers compatible with numpy's legacy generator (np.random.seed / rand / randn), so a C++
// script ported from a numpy notebook draws the very same weights and dropout masks.
//   - MT19937 seeded from a 32-bit integer exactly as numpy's RandomState does (init_genrand);
//   - rand(): a 53-bit double from two 32-bit words, (a >> 5, b >> 6), as numpy's random_sample;
//   - randn(): numpy's legacy polar Box–Muller, which caches its second value;
//   - arrays are filled in row-major order.

#include <cstdint>
#include <random>
#include <vector>

#include "framework/array.hpp"

namespace xgrad {

class Generator {
public:
    explicit Generator(std::uint64_t seed = 0) { this->seed(seed); }

    /// Like np.random.seed(n): n must lie in [0, 2^32 - 1] (ValueError otherwise). Clears the
    /// cached Gaussian.
    void seed(std::uint64_t seed);

    std::uint32_t next_uint32() { return static_cast<std::uint32_t>(engine_()); }
    /// Uniform on [0, 1) with 53 random bits.
    double uniform();
    /// Standard normal.
    double normal();

    /// An array of uniforms / standard normals, filled in row-major order.
    Array rand(const Shape& shape, DType dtype = DType::f64);
    Array randn(const Shape& shape, DType dtype = DType::f64);
    /// A random permutation of 0..n-1, as numpy's legacy permutation (Fisher–Yates from the end).
    std::vector<std::size_t> permutation(std::size_t n);

private:
    std::uint32_t bounded(std::uint32_t max);  // uniform on [0, max], numpy's masked rejection

    std::mt19937 engine_;  // the same recurrence, seeding and tempering as numpy's MT19937
    bool has_gauss_ = false;
    double gauss_ = 0.0;
};

/// The process-wide generator, like numpy's np.random module-level functions.
Generator& global_generator();
/// np.random.seed(n)
void seed(std::uint64_t seed);
/// np.random.rand(*shape) / np.random.randn(*shape) from the global generator.
Array rand(const Shape& shape, DType dtype = DType::f64);
Array randn(const Shape& shape, DType dtype = DType::f64);

}  // namespace xgrad
