// xgrad::distributed from the installed package (run by run.sh under mpirun -np 2): a model
// script needs only <xgrad/distributed/distributed.hpp> and the xgrad::distributed target, not
// mpi.h. Its training loop is the one docs/distributed.md shows (tests/check_docs_code.py).
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/xgrad.hpp>

#include <iostream>

using namespace xgrad;
namespace dist = xgrad::distributed;

namespace {

/// A 2-16-2 classifier; each process draws its own weights, so only the broadcast makes them equal.
std::shared_ptr<Sequential> make_model() {
    Generator gen(dist::rank());
    const LinearOptions o{.init = Init::he, .generator = &gen, .layout = Layout::batch_first};
    auto net = std::make_shared<Sequential>();
    net->add(std::make_shared<Linear>(2, 16, o), "fc1");
    net->add(std::make_shared<ReLU>());
    net->add(std::make_shared<Linear>(16, 2, o), "fc2");
    return net;
}

/// 512 points, the class being whether x·y > 0; the same on every process.
data::TensorDataset make_data() {
    Generator gen(7);
    Array x = gen.randn({512, 2});
    Array labels = Array::zeros({512}, DType::i64);
    for (std::size_t i = 0; i < 512; ++i) labels.set_flat(i, x.flat(2 * i) * x.flat(2 * i + 1) > 0 ? 1 : 0);
    return data::TensorDataset(std::move(x), std::move(labels));
}

/// Ends the job unless every process holds the same weights (their sum is p times one's).
void check_replicas(Module& model) {
    for (const auto& [name, parameter] : model.named_parameters()) {
        Array sum = parameter.value().astype(DType::f64);
        dist::allreduce_sum(sum);
        for (std::size_t i = 0; i < sum.size(); ++i)
            if (sum.flat(i) != static_cast<double>(dist::world_size()) * parameter.value().flat(i))
                dist::abort_job("ddp_model: the processes' '" + name + "' differ after training");
    }
    if (dist::rank() == 0) std::cout << "ddp_model: " << dist::world_size() << " processes, one model\n";
}

}  // namespace

// [distributed: training]
int main(int argc, char** argv) {
    dist::Environment mpi(argc, argv);                      // MPI_Init_thread ... MPI_Finalize
    auto model = make_model();
    dist::DistributedDataParallel ddp(*model);              // rank 0's parameters and buffers everywhere
    Adam optimizer(model->parameters(), 1e-2);
    const data::TensorDataset train = make_data();
    auto sampler = std::make_shared<data::DistributedSampler>(
        train.size(), mpi.world_size(), mpi.rank(), data::DistributedSamplerOptions{.seed = 1});
    data::DataLoader loader(train, {.batch_size = 32, .sampler = sampler});  // 32 per process
    for (std::size_t epoch = 0; epoch < 3; ++epoch)
        for (const data::Batch& batch : loader) {           // each pass: the next epoch, reshuffled
            optimizer.zero_grad();
            cross_entropy((*model)(batch.inputs), batch.targets).backward();  // allreduces start here
            ddp.synchronize();                              // averaged gradients in place
            optimizer.step();
        }
    check_replicas(*model);                                 // every process holds the same weights
}
// [distributed: end]
