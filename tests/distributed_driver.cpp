// What tests/check_distributed.py runs under mpirun, one mode per run:
//   masks  each process prints a digest of the dropout mask it draws from rank_generator(seed):
//          the digests differ across ranks and repeat from run to run;
//   throw  rank 1 throws while the others wait for it in a collective: the job must end with the
//          exception's message (Environment's terminate handler, MPI_Abort), not hang;
//   kill   rank 1 kills itself (SIGKILL): mpirun must end the others.

#include <csignal>
#include <cstdint>
#include <iostream>
#include <string>

#include "distributed/distributed.hpp"
#include "xgrad.hpp"

using namespace xgrad;
namespace dist = xgrad::distributed;

int main(int argc, char** argv) {
    dist::Environment mpi(argc, argv);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "masks") {
        Generator gen = dist::rank_generator(2024);
        const DropoutState s = dropout_state(dropout(parameter(Array::ones({64, 64})), {.keep_prob = 0.5, .generator = &gen}));
        std::uint64_t digest = 1469598103934665603u;  // FNV-1a over the mask bits
        for (bool bit : s.mask) digest = (digest ^ static_cast<std::uint64_t>(bit)) * 1099511628211u;
        std::cout << "rank " << mpi.rank() << " kept " << s.kept << " digest " << digest << std::endl;
        return 0;
    }
    if (mode == "throw" || mode == "kill") {
        if (mpi.rank() == 1) {
            if (mode == "kill") std::raise(SIGKILL);
            throw ValueError("rank 1 failed on purpose: keep_prob = 1.5 is outside (0, 1]");
        }
        Array x = Array::ones({4});
        dist::allreduce_sum(x);  // waits for rank 1 forever unless the job is ended
        std::cout << "rank " << mpi.rank() << ": the collective returned, which it must not" << std::endl;
        return 0;
    }
    std::cerr << "distributed_driver: unknown mode '" << mode << "' (masks, throw or kill)\n";
    return 2;
}
