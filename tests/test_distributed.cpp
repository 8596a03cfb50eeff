// Data-parallel training over MPI (distributed/distributed.hpp), run by CTest under
// `mpirun --allow-run-as-root --oversubscribe -np 2` (and passes on any number of processes that
// divides the global batch of 64):
// DistributedDataParallel takes the step one process takes on the global batch, dropout masks come
// from independent per-rank streams, and the global measured scale is units / kept over all masks.

#define BOOST_TEST_MODULE xgrad_distributed
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>

#include "distributed/distributed.hpp"
#include "helpers.hpp"
#include "xgrad.hpp"

using namespace xgrad;
namespace dist = xgrad::distributed;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {

struct Mpi {
    dist::Environment environment;
};

/// Row r of the result is process r's `values` (every process gets every row).
Array gather_rows(const std::vector<double>& values) {
    const std::size_t p = dist::world_size(), n = values.size();
    Array all = Array::zeros({p, n});
    for (std::size_t i = 0; i < n; ++i) all.set_flat(dist::rank() * n + i, values[i]);
    dist::allreduce_sum(all);
    return all;
}

std::vector<double> mask_of(const Tensor& y) {
    const DropoutState s = dropout_state(y);
    return std::vector<double>(s.mask.begin(), s.mask.end());
}

/// 640 examples of 20 features in 3 classes, the same on every process.
data::TensorDataset synthetic() {
    Generator gen(3);
    Array x = gen.randn({640, 20});
    Array labels = Array::zeros({640}, DType::i64);
    for (std::size_t i = 0; i < 640; ++i) {
        const double a = x.flat(i * 20), b = x.flat(i * 20 + 1);
        labels.set_flat(i, a + b > 0.5 ? 2 : a > b ? 1 : 0);
    }
    return data::TensorDataset(std::move(x), std::move(labels));
}

std::shared_ptr<Sequential> mlp(std::uint64_t seed) {
    Generator gen(seed);
    const LinearOptions o{.init = Init::he, .dtype = DType::f64, .generator = &gen, .layout = Layout::batch_first};
    auto net = std::make_shared<Sequential>();
    net->add(std::make_shared<Linear>(20, 16, o), "fc1");
    net->add(std::make_shared<ReLU>());
    net->add(std::make_shared<Linear>(16, 16, o), "fc2");
    net->add(std::make_shared<ReLU>());
    net->add(std::make_shared<Linear>(16, 3, o), "fc3");
    return net;
}

double relative_difference(const Array& a, const Array& b) {
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a.flat(i) - b.flat(i)));
        scale = std::max(scale, std::abs(b.flat(i)));
    }
    return diff / scale;
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(Mpi);

BOOST_AUTO_TEST_SUITE(distributed)

BOOST_AUTO_TEST_CASE(ddp_on_shards_of_the_global_batch_takes_the_single_process_step) {
    const std::size_t p = dist::world_size(), global_batch = 64;
    BOOST_REQUIRE(global_batch % p == 0);
    const data::TensorDataset ds = synthetic();

    // One process, batch 64: computed here, by every process alike, without MPI.
    auto reference = mlp(11);
    Momentum ref_opt(reference->parameters(), 0.1, 0.9);
    data::DataLoader ref_loader(ds, {.batch_size = global_batch, .shuffle = true, .seed = 9});
    std::size_t ref_steps = 0;
    for (const data::Batch& batch : ref_loader) {
        ref_opt.zero_grad();
        cross_entropy((*reference)(batch.inputs), batch.targets).backward();
        ref_opt.step();
        ++ref_steps;
    }
    BOOST_TEST(ref_steps == 10u);

    // p processes, batch 64 / p each, each starting from its own weights until rank 0's are broadcast;
    // small buckets, so several are reduced while backward runs (or all after it, without overlap).
    const auto check_ddp = [&](bool overlap) {
        auto model = mlp(11 + 100 * dist::rank());
        dist::DistributedDataParallel ddp(*model, {.bucket_bytes = 1024, .overlap = overlap});
        auto init = mlp(11);
        for (std::size_t k = 0; k < model->parameters().size(); ++k)
            BOOST_TEST(model->parameters()[k].value().equals(init->parameters()[k].value()));
        // In reverse order: fc3 and fc2.bias (536 B), fc2.weight (2048 B), fc1.bias (128 B), fc1.weight (2560 B).
        BOOST_TEST(ddp.bucket_bytes() == (std::vector<std::size_t>{536, 2048, 128, 2560}));
        BOOST_TEST(ddp.bytes_per_step() == (20 * 16 + 16 + 16 * 16 + 16 + 16 * 3 + 3) * sizeof(double));
        Momentum opt(model->parameters(), 0.1, 0.9);
        std::size_t steps = 0;
        auto sampler = std::make_shared<data::DistributedSampler>(ds.size(), p, dist::rank(),
                                                                  data::DistributedSamplerOptions{.seed = 9});
        data::DataLoader loader(ds, {.batch_size = global_batch / p, .sampler = sampler});
        for (const data::Batch& batch : loader) {
            opt.zero_grad();
            cross_entropy((*model)(batch.inputs), batch.targets).backward();
            ddp.synchronize();
            opt.step();
            ++steps;
            // With overlap every bucket was started by a gradient-ready hook, during backward; without, none.
            BOOST_TEST(ddp.buckets_started_in_backward() == (overlap ? 4u : 0u));
        }
        BOOST_TEST(steps == 10u);
        const auto got = model->named_parameters(), want = reference->named_parameters();
        for (std::size_t k = 0; k < got.size(); ++k) {
            BOOST_TEST_CONTEXT(got[k].first) {
                BOOST_TEST(relative_difference(got[k].second.value(), want[k].second.value()) <= 1e-12);
                // And far from where it started: the comparison is not between two untrained models.
                BOOST_TEST(relative_difference(got[k].second.value(), init->parameters()[k].value()) > 1e-3);
            }
        }
    };
    for (const bool overlap : {true, false}) BOOST_TEST_CONTEXT("overlap " << overlap) check_ddp(overlap);
}

BOOST_AUTO_TEST_CASE(float32_with_one_bucket_averages_too) {
    const std::size_t p = dist::world_size();
    Generator gen(1);
    auto model = std::make_shared<Linear>(4, 2, LinearOptions{.dtype = DType::f32, .generator = &gen,
                                                               .layout = Layout::batch_first});
    dist::DistributedDataParallel ddp(*model);
    BOOST_TEST(ddp.bucket_bytes() == std::vector<std::size_t>{(8 + 2) * sizeof(float)});
    // Process r's loss is (r + 1) · sum(y): its bias gradient is (r + 1) · batch, averaged (p + 1) / 2 · batch.
    const Tensor x = constant(Array::ones({3, 4}, DType::f32));
    (sum((*model)(x)) * static_cast<double>(dist::rank() + 1)).backward();
    ddp.synchronize();
    for (std::size_t i = 0; i < 2; ++i)
        BOOST_TEST(model->bias.grad().flat(i) == 3.0 * static_cast<double>(p + 1) / 2.0);
}

BOOST_AUTO_TEST_CASE(unused_parameters_count_zero_and_a_second_backward_is_refused) {
    const std::size_t p = dist::world_size();
    Generator gen(1);
    auto model = std::make_shared<Sequential>();
    auto used = model->add(std::make_shared<Linear>(3, 2, LinearOptions{.generator = &gen, .layout = Layout::batch_first}), "used");
    auto unused = model->add(std::make_shared<Linear>(3, 2, LinearOptions{.generator = &gen, .layout = Layout::batch_first}), "unused");
    dist::DistributedDataParallel ddp(*model);
    const Tensor x = constant(Array::ones({1, 3}));
    // Only rank 0 uses the second layer: its gradient is averaged with the others' zeros.
    Tensor loss = sum((*used)(x));
    if (dist::rank() == 0) loss = loss + sum((*unused)(x));
    loss.backward();
    ddp.synchronize();
    BOOST_TEST(unused->bias.grad().flat(0) == 1.0 / static_cast<double>(p));
    BOOST_TEST(used->bias.grad().flat(0) == 1.0);
    // Gradient accumulation through DDP: the second backward finds its bucket already started.
    model->zero_grad();
    const auto both = [&] { return sum((*used)(x)) + sum((*unused)(x)); };
    both().backward();
    const std::string message = message_of<GraphError>([&] { both().backward(); });
    BOOST_TEST(contains(message, "a second gradient for"));
    BOOST_TEST(contains(message, "before synchronize()"));
    ddp.synchronize();  // the first backward's buckets, still open, are completed
}

BOOST_AUTO_TEST_CASE(without_overlap_gradients_may_accumulate_before_synchronize) {
    const std::size_t p = dist::world_size();
    Generator gen(1);
    Linear layer(3, 2, LinearOptions{.generator = &gen, .layout = Layout::batch_first});
    dist::DistributedDataParallel ddp(layer, {.overlap = false});
    const Tensor x = constant(Array::ones({1, 3}));
    // Two backward passes (gradient accumulation), then one average: process r adds 1 and r + 1.
    sum(layer(x)).backward();
    (sum(layer(x)) * static_cast<double>(dist::rank() + 1)).backward();
    BOOST_TEST(ddp.buckets_started_in_backward() == 0u);
    ddp.synchronize();
    BOOST_TEST(layer.bias.grad().flat(0) == 1.0 + static_cast<double>(p + 1) / 2.0);
}

BOOST_AUTO_TEST_CASE(broadcast_parameters_refuses_a_different_model_on_every_process) {
    Generator gen(1);
    // Rank 1's layer has 3 outputs, everyone else's 2.
    Linear layer(4, dist::rank() == 1 ? 3 : 2, LinearOptions{.generator = &gen});
    if (dist::world_size() == 1) return;
    const std::string message = message_of<ValueError>([&] { dist::broadcast_parameters(layer); });
    BOOST_TEST(contains(message, dist::rank() == 1 ? "process 1's module differs from root 0's" : "another process"));
    if (dist::rank() == 1) BOOST_TEST(contains(message, "W float64 (3, 4)"));
}

BOOST_AUTO_TEST_CASE(dropout_masks_differ_across_ranks_and_repeat_from_the_seed) {
    const Tensor x = parameter(Array::ones({32, 100}), "x");  // requires grad: the op is recorded
    Generator gen = dist::rank_generator(42);
    const std::vector<double> mask = mask_of(dropout(x, {.keep_prob = 0.5, .generator = &gen}));
    Generator again = dist::rank_generator(42);
    BOOST_TEST(mask_of(dropout(x, {.keep_prob = 0.5, .generator = &again})) == mask);
    const Array all = gather_rows(mask);
    const std::size_t p = dist::world_size(), n = mask.size();
    for (std::size_t a = 0; a < p; ++a)
        for (std::size_t b = a + 1; b < p; ++b) {
            std::size_t same = 0;
            for (std::size_t i = 0; i < n; ++i) same += all.flat(a * n + i) == all.flat(b * n + i);
            // Independent masks of keep_prob 0.5 agree on about half the units (identical ones on all).
            BOOST_TEST_CONTEXT("ranks " << a << " and " << b) BOOST_TEST((same > n / 3 && same < 2 * n / 3));
        }
}

BOOST_AUTO_TEST_CASE(global_measured_scale_is_units_over_kept_of_all_masks) {
    const std::size_t p = dist::world_size();
    Generator gen = dist::rank_generator(7);
    // Each process a different share of the batch, so the counts per process differ.
    const std::size_t rows = 5 + 3 * dist::rank();
    const Tensor x = parameter(gen.randn({rows, 40}), "x");
    DropoutOptions global{.keep_prob = 0.6, .scale = DropoutScale::measured, .generator = &gen,
                          .reduce_counts = dist::global_dropout_counts()};
    const Tensor y = dropout(x, global);
    const DropoutState s = dropout_state(y);

    // By hand: every process's mask gathered (padded with -1 to the longest), units / kept of them all.
    const std::size_t longest = (5 + 3 * (p - 1)) * 40;
    std::vector<double> padded(longest, -1.0);
    for (std::size_t i = 0; i < s.mask.size(); ++i) padded[i] = s.mask[i] ? 1.0 : 0.0;
    const Array masks = gather_rows(padded);
    double kept = 0, units = 0;
    for (std::size_t i = 0; i < masks.size(); ++i) {
        kept += masks.flat(i) == 1.0;
        units += masks.flat(i) >= 0.0;
    }
    BOOST_TEST(units == static_cast<double>(40 * (5 * p + 3 * p * (p - 1) / 2)));
    BOOST_TEST(static_cast<double>(s.mask.size()) == static_cast<double>(rows * 40));
    BOOST_TEST(s.scales.size() == 1u);
    BOOST_TEST(s.scales[0] == units / kept);  // exactly: both are the same division
    const Array scales = gather_rows({s.scales[0]});
    for (std::size_t r = 0; r < p; ++r) BOOST_TEST(scales.flat(r) == s.scales[0]);  // one scale everywhere
    for (std::size_t i = 0; i < y.size(); ++i)
        BOOST_TEST(y.value().flat(i) == (s.mask[i] ? x.value().flat(i) * s.scales[0] : 0.0));

    // The per-process count beside it: this process's own mask only.
    DropoutOptions local = global;
    local.reduce_counts = nullptr;
    const DropoutState own = dropout_state(dropout(x, local));
    BOOST_TEST(own.scales[0] == static_cast<double>(own.units) / static_cast<double>(own.kept));
    if (p > 1) {
        // The ranks' own scales differ (different masks, different sizes).
        const Array owns = gather_rows({own.scales[0]});
        BOOST_TEST(owns.flat(0) != owns.flat(1));
    }
}

BOOST_AUTO_TEST_SUITE_END()
