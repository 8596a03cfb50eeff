#pragma once
// Datasets of examples and a loader that serves them as shuffled, batch-first mini-batches, as
// PyTorch's torch.utils.data does; and Fashion-MNIST, read from Debian's dataset-fashion-mnist.
//
//     const data::FashionMnist fm = data::fashion_mnist();
//     data::DataLoader loader(fm.train, {.batch_size = 64, .shuffle = true, .seed = 1});
//     for (std::size_t epoch = 0; epoch < 10; ++epoch)
//         for (const data::Batch& batch : loader)  // each pass is the next epoch, reshuffled
//             ...  // batch.inputs (64, 1, 28, 28) float32, batch.targets (64,) int64
//
// Everything here lives in xgrad::data, beside the older features-by-examples helpers of
// datasets.hpp (whose xgrad::Dataset is a train/test pair, not this interface).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "framework/array.hpp"
#include "framework/tensor.hpp"

namespace xgrad::data {

/// One example: its input (an image, a feature vector) and its target (a label, a value).
struct Example {
    Array input;
    Array target;
};

/// A collection of examples, indexed 0 to size() - 1.
class Dataset {
public:
    virtual ~Dataset() = default;
    virtual std::size_t size() const = 0;
    /// Example i. IndexError when i >= size().
    virtual Example get(std::size_t i) const = 0;
    /// The examples `indices`, each stacked along a new axis 0: inputs (n, ...), targets (n, ...).
    /// This default calls get() for each; a dataset that can copy its rows straight into the batch
    /// (TensorDataset) overrides it. ShapeError when the examples differ in shape or dtype.
    virtual Example get_batch(std::span<const std::size_t> indices) const;
};

/// Examples held as two arrays whose axis 0 indexes them: inputs (N, ...) and targets (N, ...),
/// such as images (N, 1, 28, 28) float32 and labels (N,) int64. Nothing is copied until a batch
/// (or an example) is asked for.
class TensorDataset : public Dataset {
public:
    /// ShapeError when either array is undefined or 0-d, or their first sizes differ.
    TensorDataset(Array inputs, Array targets);
    std::size_t size() const override { return inputs_.shape()[0]; }
    /// Row i of each array: an input of shape inputs.shape[1:], a target of shape targets.shape[1:]
    /// (0-d for labels).
    Example get(std::size_t i) const override;
    /// One copy of each selected row straight into the batch arrays.
    Example get_batch(std::span<const std::size_t> indices) const override;
    const Array& inputs() const { return inputs_; }
    const Array& targets() const { return targets_; }

private:
    Array inputs_, targets_;
};

/// What a loader applies to each example's input (the target is left as it is).
using Transform = std::function<Array(Array)>;

/// (x - mean) / std, element-wise, in the input's float type. ValueError unless std is finite and
/// positive and mean finite; DTypeError on an int64 input.
Transform normalize(double mean, double std);
/// The input as a vector of its elements in row-major order: (1, 28, 28) becomes (784,).
Transform flatten_input();

class DistributedSampler;

struct DataLoaderOptions {
    std::size_t batch_size = 1;   ///< examples per batch; ValueError when 0
    bool shuffle = false;         ///< a new order of the examples every epoch
    bool drop_last = false;       ///< leave out a last batch smaller than batch_size
    std::uint64_t seed = 0;       ///< what the shuffles derive from, in [0, 2^32 - 1] (as Generator)
    Transform transform;          ///< applied to each example's input; none when empty
    /// Data-parallel training: serve only this process's shard of each epoch (the sampler's
    /// indices(e)), which the sampler shuffles itself — shuffle must then be false (ValueError
    /// otherwise), and the sampler's dataset size must be the dataset's. None: all examples.
    std::shared_ptr<const DistributedSampler> sampler;
};

struct DistributedSamplerOptions {
    bool shuffle = true;          ///< a new order every epoch, the same on every process
    std::uint64_t seed = 0;       ///< shared by all processes, in [0, 2^32 - 1]
    /// Leave out the last N mod world_size examples of each epoch's order; otherwise the order is
    /// padded with its own first examples to a multiple of world_size, so every process serves the
    /// same number of examples (as PyTorch's DistributedSampler).
    bool drop_last = false;
};

/// One process's share of every epoch, for data-parallel training (PyTorch's DistributedSampler):
/// epoch e's order is the permutation a DataLoader with this seed draws (epoch_seed(seed, e)),
/// shared by all processes, and process `rank` takes positions rank, rank + world_size, ... of it.
/// The shards are disjoint, their union is the epoch, and batch b of every shard together is
/// batch b of a single-process loader with world_size times the batch size: the same examples.
class DistributedSampler {
public:
    /// ValueError unless world_size >= 1, rank < world_size and the seed fits in 32 bits.
    DistributedSampler(std::size_t dataset_size, std::size_t world_size, std::size_t rank,
                       DistributedSamplerOptions options = {});
    /// Examples per process and epoch.
    std::size_t size() const;
    std::size_t dataset_size() const { return dataset_size_; }
    std::size_t world_size() const { return world_size_; }
    std::size_t rank() const { return rank_; }
    const DistributedSamplerOptions& options() const { return options_; }
    /// This process's example indices of epoch e, in the order they are served.
    std::vector<std::size_t> indices(std::size_t e) const;

private:
    std::size_t dataset_size_, world_size_, rank_;
    DistributedSamplerOptions options_;
};

/// A mini-batch, batch-first: row k of inputs and of targets is the batch's k-th example.
/// Both are constants (leaves that do not require grad).
struct Batch {
    Tensor inputs;
    Tensor targets;
};

/// Serves a dataset as mini-batches in range-for. Each pass (each begin()) is one epoch: with
/// shuffle on, the example order of epoch e is a permutation drawn from a generator seeded with
/// epoch_seed(seed, e), so a run is reproducible from its seed, and every epoch has its own order
/// without the dataset being copied (only the permutation of indices is held).
///
/// The loader keeps a reference to the dataset, which must outlive it.
class DataLoader {
public:
    DataLoader(const Dataset& dataset, DataLoaderOptions options = {});
    /// A temporary dataset would be gone before the first batch: keep it in a variable.
    DataLoader(const Dataset&& dataset, DataLoaderOptions options = {}) = delete;

    /// The number of batches in an epoch (of this process's shard, with a sampler).
    std::size_t size() const;
    const DataLoaderOptions& options() const { return options_; }

    /// The epoch the next pass will serve (0 for a new loader; each begin() moves it on by one).
    std::size_t epoch() const { return epoch_; }
    /// Makes the next pass serve epoch e: to resume a run, or to see an epoch again.
    void set_epoch(std::size_t e) { epoch_ = e; }
    /// The example indices of epoch e in the order they are served (0 to N - 1 without shuffle;
    /// with drop_last, the served ones are the first size() * batch_size of them; with a sampler,
    /// its indices(e)).
    std::vector<std::size_t> order(std::size_t e) const;
    /// Batch b of epoch e. IndexError when b >= size().
    Batch batch(std::size_t b, std::size_t e) const;

    /// The generator seed for epoch e's shuffle: the high 32 bits of splitmix64(seed · 2^32 + e),
    /// so neighbouring seeds and epochs give unrelated orders (with seed + e, seed 1's epoch 0 would
    /// repeat seed 0's epoch 1). numpy draws the same order with
    /// numpy.random.RandomState(epoch_seed(seed, e)).permutation(N).
    static std::uint32_t epoch_seed(std::uint64_t seed, std::size_t e);
    /// Epoch e's order of n examples without a sampler: the permutation drawn from epoch_seed(seed,
    /// e) when shuffling, else 0 … n−1. DistributedSampler shards the same order.
    static std::vector<std::size_t> epoch_order(std::size_t n, bool shuffle, std::uint64_t seed, std::size_t e);

    class iterator {
    public:
        using value_type = Batch;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        const Batch& operator*() const { return batch_; }
        const Batch* operator->() const { return &batch_; }
        iterator& operator++();
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& a, const iterator& b) { return a.position_ == b.position_; }

    private:
        friend class DataLoader;
        iterator(const DataLoader* loader, std::shared_ptr<const std::vector<std::size_t>> order,
                 std::size_t position);
        const DataLoader* loader_ = nullptr;
        std::shared_ptr<const std::vector<std::size_t>> order_;  // this pass's epoch, fixed at begin()
        std::size_t position_ = 0;
        Batch batch_;  // the batch at position_ (none at the end)
    };

    /// Starts a pass over epoch(), then moves epoch() on to the next.
    iterator begin();
    iterator end() const;

private:
    Batch make_batch(std::span<const std::size_t> indices) const;

    const Dataset& dataset_;
    DataLoaderOptions options_;
    std::size_t epoch_ = 0;
};

/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28 × 28 grey images of 10 kinds of clothing,
/// 60 000 to train on and 10 000 to test on. Images float32 (N, 1, 28, 28) scaled to [0, 1] (pixel
/// / 255, as torchvision's ToTensor), labels int64 (N,) in 0..9.
struct FashionMnist {
    TensorDataset train, test;
    /// The names of labels 0 to 9: "T-shirt/top", "Trouser", ..., "Ankle boot".
    static const std::vector<std::string>& class_names();
};

/// Reads train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
/// t10k-labels-idx1-ubyte.gz from `root`, where Debian's package dataset-fashion-mnist installs
/// them. IoError naming the path when a file is missing (saying which package to install) or is
/// not what Fashion-MNIST's files hold.
FashionMnist fashion_mnist(const std::string& root = "/usr/share/datasets/fashion-mnist");

}  // namespace xgrad::data
