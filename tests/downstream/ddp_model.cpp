// xgrad::distributed from the installed package (run by run.sh under mpirun -np 2): a model
// script needs only <xgrad/distributed/distributed.hpp> and the xgrad::distributed target, not MPI.
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <iostream>

using namespace xgrad;

int main(int argc, char** argv) {
    distributed::Environment mpi(argc, argv);
    Generator gen(mpi.rank());  // different weights until the broadcast
    Linear layer(3, 1, LinearOptions{.generator = &gen, .layout = Layout::batch_first});
    distributed::DistributedDataParallel ddp(layer);
    // Process r's bias gradient is r + 1; the average is (p + 1) / 2.
    (sum(layer(constant(Array::ones({1, 3})))) * static_cast<double>(mpi.rank() + 1)).backward();
    ddp.synchronize();
    const double want = static_cast<double>(mpi.world_size() + 1) / 2.0;
    if (layer.bias.grad().item() != want) distributed::abort_job("ddp_model: bias gradient " +
                                                                 std::to_string(layer.bias.grad().item()) +
                                                                 ", expected " + std::to_string(want));
    if (mpi.rank() == 0) std::cout << "ddp_model: " << mpi.world_size() << " processes averaged\n";
    return 0;
}
