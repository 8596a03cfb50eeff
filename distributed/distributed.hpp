#pragma once
// Data-parallel training over MPI (issue #20): every process holds the whole model, trains on its
// own shard of each batch (data::DistributedSampler), and the gradients are averaged over all
// processes before each optimizer step, so every process takes the same step — the step one
// process would take on the global batch.
//
//     int main(int argc, char** argv) {
//         distributed::Environment mpi(argc, argv);       // MPI_Init ... MPI_Finalize
//         auto model = make_model();
//         distributed::DistributedDataParallel ddp(*model);  // rank 0's weights everywhere
//         auto sampler = std::make_shared<data::DistributedSampler>(train.size(), mpi.world_size(),
//                                                                  mpi.rank(), {.seed = 1});
//         data::DataLoader loader(train, {.batch_size = 32, .sampler = sampler});
//         for (const data::Batch& batch : loader) {
//             optimizer.zero_grad();
//             cross_entropy((*model)(batch.inputs), batch.targets).backward();  // allreduces start
//             ddp.synchronize();                           // the averaged gradients are in place
//             optimizer.step();
//         }
//     }
//
// Run with `mpirun -np 2 program` (docs/distributed.md: across machines, and what it costs).
// This library (xgrad::distributed) is the only part of xgrad that links MPI; this header does not
// include mpi.h. Every call here is collective unless it says otherwise: all processes make it, in
// the same order.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "framework/errors.hpp"
#include "framework/random.hpp"
#include "models/module.hpp"

namespace xgrad::distributed {

/// An MPI call failed (its error string and the call's name in the message).
struct DistributedError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// MPI for the lifetime of this object: MPI_Init_thread in the constructor, MPI_Finalize in the
/// destructor; one per program (ValueError on a second). Asks for MPI_THREAD_SERIALIZED — xgrad
/// makes MPI calls only from the thread running backward and from the caller's, never two at once —
/// and throws DistributedError if the library gives less than MPI_THREAD_FUNNELED.
///
/// A failing process ends the whole job, never leaving the others waiting in a collective: an
/// exception that escapes main (std::terminate) prints "xgrad rank r of p: <what()>" to stderr and
/// calls MPI_Abort; so does destroying the Environment while an exception unwinds the stack. Catch
/// errors yourself and call abort_job(e.what()) to end the job with your own message.
class Environment {
public:
    Environment();
    Environment(int& argc, char**& argv);
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

    std::size_t rank() const;
    std::size_t world_size() const;
    /// The processor (host) name MPI reports for this process.
    std::string host() const;

private:
    void start(int* argc, char*** argv);
    int unwinding_at_start_ = 0;
};

/// Whether an Environment is alive (MPI initialised and not finalised).
bool initialized();
/// This process's rank in [0, world_size()) and the number of processes; DistributedError
/// without an Environment. Not collective.
std::size_t rank();
std::size_t world_size();

/// Prints "xgrad rank r of p: message" to stderr and ends every process of the job with
/// MPI_Abort(exit_code). Not collective: the one failing process calls it.
[[noreturn]] void abort_job(const std::string& message, int exit_code = 1);

/// Waits until every process has called it.
void barrier();

/// Every element summed over all processes, in place (float32, float64 or int64 arrays; a vector
/// of doubles for the figures an example reports).
void allreduce_sum(Array& values);
void allreduce_sum(std::vector<double>& values);
/// root's array written into every process's `values` (same shape and dtype everywhere).
void broadcast(Array& values, std::size_t root = 0);

/// Every parameter and buffer of `module` (named_state(), in its order) set to root's values, so
/// all processes start from the same weights and running statistics. ValueError naming the tensor
/// when a process's module differs in names, shapes or dtypes from root's.
void broadcast_parameters(Module& module, std::size_t root = 0);

/// A DropoutOptions::reduce_counts that sums the kept and total unit counts over all processes
/// (one MPI_Allreduce of two integers per dropout call): with DropoutScale::measured, the scale
/// s = units / kept is then measured over the whole global batch, the same on every process,
/// rather than over each process's share. Every process must run the same dropout layers.
std::function<void(std::size_t& kept, std::size_t& units)> global_dropout_counts();

/// This process's random stream of a data-parallel run: Generator::philox(seed, rank()) — the
/// same seed on every process, an independent, reproducible stream per rank (for dropout masks).
Generator rank_generator(std::uint64_t seed);

struct DdpOptions {
    /// Gradients are packed into buckets of about this many bytes, each allreduced on its own as
    /// soon as all of its gradients are ready (PyTorch's bucket_cap_mb, 25 MB there; smaller here,
    /// where models are small). One parameter larger than this is a bucket of its own.
    std::size_t bucket_bytes = std::size_t{1} << 20;
    /// Broadcast root's parameters and buffers when constructed (broadcast_parameters).
    bool broadcast = true;
    /// Start each bucket's non-blocking allreduce from the hooks, during backward. false: reduce
    /// every bucket with a blocking MPI_Allreduce in synchronize(), after backward — no overlap, but
    /// Open MPI's blocking algorithms are faster than its non-blocking ones in shared memory, and
    /// with no idle core (all of them computing) there is nothing for an overlap to use
    /// (docs/distributed.md measures both on two cores).
    bool overlap = true;
};

/// Averages the gradients of a module's parameters over all processes, overlapping the
/// communication with backward (Li et al., "PyTorch Distributed", VLDB 2020):
///   - the parameters are packed, in reverse registration order (the order backward finishes
///     them), into buckets of one dtype and about bucket_bytes each;
///   - a gradient-ready hook on every parameter copies its gradient into its bucket; when a bucket
///     is full, and every bucket before it has been started, a non-blocking MPI_Iallreduce sums it
///     while backward goes on through the layers below;
///   - synchronize() starts what is left (parameters this backward did not reach count zero), waits
///     for every bucket and writes each sum / world_size() into the parameters' gradients.
/// With DdpOptions::overlap false, the hooks only fill the buckets and synchronize() reduces them,
/// so several backward passes may accumulate gradients before one synchronize().
/// Call synchronize() after each backward and before the optimizer step. A second backward before
/// synchronize() (gradient accumulation) is refused with a GraphError once its bucket has started:
/// accumulate into grad() with the hooks of a module that is not wrapped, or synchronize each time.
///
/// The hooks hold only a weak reference: destroying this object leaves the parameters usable.
class DistributedDataParallel {
public:
    explicit DistributedDataParallel(Module& module, DdpOptions options = {});
    ~DistributedDataParallel();
    DistributedDataParallel(const DistributedDataParallel&) = delete;
    DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

    /// Waits for every bucket of this backward and leaves the averaged gradients in the
    /// parameters. Collective.
    void synchronize();

    /// How the gradients are packed: the buckets' sizes in bytes, in the order they are reduced.
    std::vector<std::size_t> bucket_bytes() const;
    /// Gradient bytes each process contributes per step (the sum of bucket_bytes()).
    std::size_t bytes_per_step() const;
    /// Buckets started by the hooks, during backward, at the last synchronize() (the others were
    /// started by synchronize itself): how much communication could overlap backward.
    std::size_t buckets_started_in_backward() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace xgrad::distributed
