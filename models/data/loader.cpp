#include "models/data/loader.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>

#include "framework/errors.hpp"
#include "framework/io/idx.hpp"
#include "framework/random.hpp"

namespace xgrad::data {

namespace {

std::string example_str(const Array& a) { return shape_str(a.shape()) + " " + dtype_name(a.dtype()); }

/// The arrays of `examples` stacked along a new axis 0 (`indices` name them in errors).
Example stack(const std::vector<Example>& examples, std::span<const std::size_t> indices) {
    if (examples.empty()) throw ValueError("DataLoader: a batch needs at least one example");
    const Example& first = examples.front();
    Example out;
    for (Array Example::*field : {&Example::input, &Example::target}) {
        const Array& model = first.*field;
        if (!model.defined())
            throw ValueError(std::string("DataLoader: example ") + std::to_string(indices[0]) +
                             " has an undefined " + (field == &Example::input ? "input" : "target"));
        Shape shape{examples.size()};
        shape.insert(shape.end(), model.shape().begin(), model.shape().end());
        Array batch = Array::uninitialized(std::move(shape), model.dtype());
        detail::dispatch_any(model.dtype(), [&](auto tag) {
            using T = decltype(tag);
            T* dst = batch.data<T>();
            for (std::size_t k = 0; k < examples.size(); ++k) {
                const Array& a = examples[k].*field;
                if (!a.defined() || a.shape() != model.shape() || a.dtype() != model.dtype())
                    throw ShapeError(std::string("DataLoader: cannot stack the batch's ") +
                                     (field == &Example::input ? "inputs" : "targets") + ": example " +
                                     std::to_string(indices[k]) + " is " +
                                     (a.defined() ? example_str(a) : "undefined") + ", example " +
                                     std::to_string(indices[0]) + " is " + example_str(model));
                if (a.size()) std::memcpy(dst + k * a.size(), a.data<T>(), a.nbytes());
            }
        });
        out.*field = std::move(batch);
    }
    return out;
}

/// Rows `indices` of `a` (axis 0), one memcpy each.
Array gather_rows(const Array& a, std::span<const std::size_t> indices) {
    Shape shape = a.shape();
    const std::size_t n = shape[0];
    shape[0] = indices.size();
    Array out = Array::uninitialized(std::move(shape), a.dtype());
    const std::size_t row_bytes = n ? a.nbytes() / n : 0;
    detail::dispatch_any(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const auto* src = reinterpret_cast<const char*>(a.data<T>());
        auto* dst = reinterpret_cast<char*>(out.data<T>());
        for (std::size_t k = 0; k < indices.size(); ++k) {
            if (indices[k] >= n)
                throw IndexError("TensorDataset: index " + std::to_string(indices[k]) +
                                 " is out of range for " + std::to_string(n) + " examples");
            if (row_bytes) std::memcpy(dst + k * row_bytes, src + indices[k] * row_bytes, row_bytes);
        }
    });
    return out;
}

/// Row i of `a` without its leading axis.
Array row(const Array& a, std::size_t i) {
    const std::size_t index[] = {i};
    return gather_rows(a, index).reshaped(Shape(a.shape().begin() + 1, a.shape().end()));
}

}  // namespace

Example Dataset::get_batch(std::span<const std::size_t> indices) const {
    std::vector<Example> examples;
    examples.reserve(indices.size());
    for (std::size_t i : indices) examples.push_back(get(i));
    return stack(examples, indices);
}

TensorDataset::TensorDataset(Array inputs, Array targets)
    : inputs_(std::move(inputs)), targets_(std::move(targets)) {
    const auto str = [](const Array& a) {
        return a.defined() ? shape_str(a.shape()) : std::string("undefined");
    };
    if (!inputs_.defined() || !targets_.defined() || inputs_.ndim() == 0 || targets_.ndim() == 0 ||
        inputs_.shape()[0] != targets_.shape()[0])
        throw ShapeError(
            "TensorDataset: inputs " + str(inputs_) + " and targets " + str(targets_) +
            " must both have at least one axis, the same size along axis 0 (one row per example)");
}

Example TensorDataset::get(std::size_t i) const { return {row(inputs_, i), row(targets_, i)}; }

Example TensorDataset::get_batch(std::span<const std::size_t> indices) const {
    return {gather_rows(inputs_, indices), gather_rows(targets_, indices)};
}

Transform normalize(double mean, double std) {
    if (!std::isfinite(mean) || !std::isfinite(std) || !(std > 0))
        throw ValueError("normalize: mean = " + format_exact(mean) + ", std = " + format_exact(std) +
                         " (the mean must be finite, the std finite and positive)");
    return [mean, std](Array x) {
        if (!x.defined() || !is_floating(x.dtype()))
            throw DTypeError(std::string("normalize: the input is ") +
                             (x.defined() ? dtype_name(x.dtype()) : "undefined") +
                             ", expected float32 or float64");
        detail::dispatch(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T m = static_cast<T>(mean), s = static_cast<T>(std);
            T* p = x.data<T>();
            for (std::size_t i = 0; i < x.size(); ++i) p[i] = (p[i] - m) / s;
        });
        return x;
    };
}

Transform flatten_input() {
    return [](Array x) {
        const std::size_t n = x.size();
        return std::move(x).reshaped({n});
    };
}

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options)
    : dataset_(dataset), options_(std::move(options)) {
    if (options_.batch_size == 0) throw ValueError("DataLoader: batch_size = 0, it must be at least 1");
    if (options_.seed > 0xffffffffu)
        throw ValueError("DataLoader: seed = " + std::to_string(options_.seed) +
                         " is outside [0, 4294967295]");
    if (options_.sampler) {
        if (options_.shuffle)
            throw ValueError("DataLoader: shuffle = true with a sampler; the sampler shuffles (its "
                             "options().shuffle), so set the loader's shuffle to false");
        if (options_.sampler->dataset_size() != dataset_.size())
            throw ValueError("DataLoader: the sampler was made for " +
                             std::to_string(options_.sampler->dataset_size()) + " examples, the dataset has " +
                             std::to_string(dataset_.size()));
    }
}

std::size_t DataLoader::size() const {
    const std::size_t n = options_.sampler ? options_.sampler->size() : dataset_.size(), b = options_.batch_size;
    return n / b + (!options_.drop_last && n % b != 0);
}

std::uint32_t DataLoader::epoch_seed(std::uint64_t seed, std::size_t e) {
    // splitmix64's finaliser (Steele, Lea and Flood 2014): a bijection of 64-bit words that mixes
    // every input bit into every output bit.
    std::uint64_t z = (seed << 32) + e + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return static_cast<std::uint32_t>((z ^ (z >> 31)) >> 32);
}

std::vector<std::size_t> DataLoader::epoch_order(std::size_t n, bool shuffle, std::uint64_t seed, std::size_t e) {
    if (shuffle) return Generator(epoch_seed(seed, e)).permutation(n);
    std::vector<std::size_t> identity(n);
    std::iota(identity.begin(), identity.end(), std::size_t{0});
    return identity;
}

std::vector<std::size_t> DataLoader::order(std::size_t e) const {
    if (options_.sampler) return options_.sampler->indices(e);
    return epoch_order(dataset_.size(), options_.shuffle, options_.seed, e);
}

Batch DataLoader::make_batch(std::span<const std::size_t> indices) const {
    Example batch;
    if (!options_.transform) {
        batch = dataset_.get_batch(indices);
    } else {
        std::vector<Example> examples;
        examples.reserve(indices.size());
        for (std::size_t i : indices) {
            Example example = dataset_.get(i);
            example.input = options_.transform(std::move(example.input));
            examples.push_back(std::move(example));
        }
        batch = stack(examples, indices);
    }
    return {constant(std::move(batch.input)), constant(std::move(batch.target))};
}

namespace {
/// The indices of batch b in `order`.
std::span<const std::size_t> batch_indices(const std::vector<std::size_t>& order, std::size_t b,
                                           std::size_t batch_size) {
    const std::size_t start = b * batch_size;
    return std::span<const std::size_t>(order).subspan(start, std::min(batch_size, order.size() - start));
}
}  // namespace

Batch DataLoader::batch(std::size_t b, std::size_t e) const {
    if (b >= size())
        throw IndexError("DataLoader: batch " + std::to_string(b) + " is out of range for " +
                         std::to_string(size()) + " batches");
    return make_batch(batch_indices(order(e), b, options_.batch_size));
}

DataLoader::iterator::iterator(const DataLoader* loader,
                               std::shared_ptr<const std::vector<std::size_t>> order, std::size_t position)
    : loader_(loader), order_(std::move(order)), position_(position) {
    if (order_ && position_ < loader_->size())
        batch_ = loader_->make_batch(batch_indices(*order_, position_, loader_->options_.batch_size));
}

DataLoader::iterator& DataLoader::iterator::operator++() {
    ++position_;
    batch_ = position_ < loader_->size()
                 ? loader_->make_batch(batch_indices(*order_, position_, loader_->options_.batch_size))
                 : Batch{};
    return *this;
}

DataLoader::iterator DataLoader::begin() {
    auto pass = std::make_shared<const std::vector<std::size_t>>(order(epoch_));
    ++epoch_;
    return iterator(this, std::move(pass), 0);
}

DataLoader::iterator DataLoader::end() const { return iterator(this, nullptr, size()); }

// ---- DistributedSampler ----

DistributedSampler::DistributedSampler(std::size_t dataset_size, std::size_t world_size, std::size_t rank,
                                       DistributedSamplerOptions options)
    : dataset_size_(dataset_size), world_size_(world_size), rank_(rank), options_(options) {
    if (world_size_ == 0 || rank_ >= world_size_)
        throw ValueError("DistributedSampler: rank = " + std::to_string(rank_) + " with world_size = " +
                         std::to_string(world_size_) + " (the rank must lie in [0, world_size - 1])");
    if (options_.seed > 0xffffffffu)
        throw ValueError("DistributedSampler: seed = " + std::to_string(options_.seed) +
                         " is outside [0, 4294967295]");
}

std::size_t DistributedSampler::size() const {
    return options_.drop_last ? dataset_size_ / world_size_ : (dataset_size_ + world_size_ - 1) / world_size_;
}

std::vector<std::size_t> DistributedSampler::indices(std::size_t e) const {
    std::vector<std::size_t> order = DataLoader::epoch_order(dataset_size_, options_.shuffle, options_.seed, e);
    // Padded (or cut) to size() · world_size: every process serves as many examples, so every
    // process takes as many steps and none waits in a collective the others never reach.
    const std::size_t total = size() * world_size_;
    for (std::size_t i = 0; order.size() < total; ++i) order.push_back(order[i % dataset_size_]);
    std::vector<std::size_t> mine;
    mine.reserve(size());
    for (std::size_t i = rank_; i < total; i += world_size_) mine.push_back(order[i]);
    return mine;
}

// ---- Fashion-MNIST ----

const std::vector<std::string>& FashionMnist::class_names() {
    static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

namespace {

/// One split ("train" or "t10k") as a dataset: images scaled to [0, 1], shaped (N, 1, 28, 28).
TensorDataset fashion_split(const std::filesystem::path& root, const std::string& split) {
    const std::string images_path = (root / (split + "-images-idx3-ubyte.gz")).string();
    const std::string labels_path = (root / (split + "-labels-idx1-ubyte.gz")).string();
    Array images = load_idx(images_path);
    if (images.dtype() != DType::f32 || images.ndim() != 3 || images.shape()[1] != 28 ||
        images.shape()[2] != 28)
        throw IoError(images_path + ": holds " + example_str(images) +
                      ", expected Fashion-MNIST's (N, 28, 28) unsigned bytes (float32 once loaded)");
    Array labels = load_idx(labels_path);
    if (labels.dtype() != DType::i64 || labels.ndim() != 1 || labels.shape()[0] != images.shape()[0])
        throw IoError(labels_path + ": holds " + example_str(labels) + ", expected (" +
                      std::to_string(images.shape()[0]) + ",) integer labels, one per image of " +
                      images_path);
    // A bad label would surface much later, inside one_hot or cross_entropy: name it here.
    const std::int64_t* y = labels.data<std::int64_t>();
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (y[i] < 0 || y[i] > 9)
            throw IoError(labels_path + ": label " + std::to_string(i) + " is " + std::to_string(y[i]) +
                          ", expected 0 to 9");
    // pixel / 255 in float32, as torchvision's ToTensor: the same values bit for bit.
    float* p = images.data<float>();
    for (std::size_t i = 0; i < images.size(); ++i) p[i] = p[i] / 255.0f;
    const std::size_t n = images.shape()[0];
    return TensorDataset(std::move(images).reshaped({n, 1, 28, 28}), std::move(labels));
}

}  // namespace

FashionMnist fashion_mnist(const std::string& root) {
    const std::filesystem::path folder(root);
    for (const char* file : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
        std::error_code error;
        if (!std::filesystem::exists(folder / file, error))
            throw IoError((folder / file).string() +
                          ": not found. Fashion-MNIST comes from the Debian package dataset-fashion-mnist: "
                          "apt-get install dataset-fashion-mnist (or bash scripts/install-deps.sh)");
    }
    return {fashion_split(folder, "train"), fashion_split(folder, "t10k")};
}

}  // namespace xgrad::data
