// Soak test: trains the regularization net (dropout 0.86, fresh masks) for N steps and samples the
// resident set size, to show memory stays flat in a long training loop. Not a CI test: run
//   build/bench/soak [steps=1000000] [sample_every=100000]
// It prints one line per sample and the growth between the first sample and the last.
#include <cblas.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "xgrad.hpp"

namespace {
double resident_mb() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}
}  // namespace

int main(int argc, char** argv) {
    using namespace xgrad;
    const long steps = argc > 1 ? std::atol(argv[1]) : 1000000;
    const long every = argc > 2 ? std::atol(argv[2]) : 100000;
    if (steps <= 0 || every <= 0) {
        std::fprintf(stderr, "usage: soak [steps > 0] [sample_every > 0]\n");
        return 2;
    }
    openblas_set_num_threads(1);
    RegNetConfig config;
    config.keep_prob = 0.86;
    auto model = make_regularization_net(config);
    const Dataset data = flower_dataset();
    const Tensor X = constant(data.train.X), Y = constant(data.train.Y);
    SGD sgd(model->parameters(), 0.05);
    double first = 0, last = 0;
    for (long i = 1; i <= steps; ++i) {
        Tensor cost = model->cost((*model)(X), Y, 0.0);
        sgd.zero_grad();
        cost.backward();
        sgd.step();
        if (i % every == 0) {
            last = resident_mb();
            if (first == 0) first = last;
            std::printf("step %ld: cost %.6f, resident %.2f MB\n", i, cost.item(), last);
            std::fflush(stdout);
        }
    }
    std::printf("resident growth from the first sample to the last: %.3f%%\n", first ? 100.0 * (last - first) / first : 0.0);
}
