// xgrad's benchmarks (Google Benchmark; medians of repetitions, ratios against baselines measured
// in the same run — see bench/compare). Numbers match docs/performance.md's table rows:
//   (1) regnet step  (2) hand-written step  (3) MLP step  (4) GEMM-only  (5) per-op overhead
//   (6) growth with batch/width and graph size  (7) memory saved for backward  — plus DOT export
//   of a 10 000-node graph and the cost of anomaly detection when off.

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>

#include "hand_written.hpp"
#include "xgrad.hpp"

using namespace xgrad;

namespace {

// The course's football data when present, else the generated flower data.
const Dataset& regnet_data() {
    static const Dataset data = [] {
        try {
            return load_football(XGRAD_SOURCE_DIR "/../shared/data/football/data.mat");
        } catch (const IoError&) {
            return flower_dataset();
        }
    }();
    return data;
}

void regnet_step(benchmark::State& state, double keep_prob, DropoutScale scale, bool anomaly) {
    set_num_threads(1);
    RegNetConfig config;
    config.keep_prob = keep_prob;
    config.scale = scale;
    auto model = make_regularization_net(config);
    SGD sgd(model->parameters(), 0.3);
    const Tensor X = constant(regnet_data().train.X), Y = constant(regnet_data().train.Y);
    AnomalyGuard guard(anomaly);
    for (auto _ : state) {
        Tensor cost = model->cost((*model)(X), Y, 0.0);
        sgd.zero_grad();
        cost.backward();
        sgd.step();
        benchmark::DoNotOptimize(cost.item());
    }
}

void BM_RegnetStep(benchmark::State& s) { regnet_step(s, 1.0, DropoutScale::constant, false); }
void BM_RegnetStepDropoutConstant(benchmark::State& s) { regnet_step(s, 0.86, DropoutScale::constant, false); }
void BM_RegnetStepDropoutMeasured(benchmark::State& s) { regnet_step(s, 0.86, DropoutScale::measured, false); }
void BM_RegnetStepAnomalyOn(benchmark::State& s) { regnet_step(s, 1.0, DropoutScale::constant, true); }

void hand_written(benchmark::State& state, double keep_prob, bool measured) {
    set_num_threads(1);
    const Dataset& d = regnet_data();
    bench::HandWrittenRegNet net(d.train.X.to_vector(), d.train.Y.to_vector(), d.train.X.shape()[1]);
    for (auto _ : state) benchmark::DoNotOptimize(net.step(0.3, keep_prob, measured));
}
void BM_HandWrittenStep(benchmark::State& s) { hand_written(s, 1.0, false); }
void BM_HandWrittenStepDropout(benchmark::State& s) { hand_written(s, 0.86, false); }

// (3) 784→W→W→10 MLP, ReLU, dropout 0.5 after both hidden layers, softmax cross-entropy, float32.
struct Mlp {
    Linear l1, l2, l3;
    Tensor X, T;
    Generator masks{7};
    Mlp(std::size_t batch, std::size_t width)
        : l1(784, width, {.init = Init::he, .dtype = DType::f32, .generator = &masks}),
          l2(width, width, {.init = Init::he, .dtype = DType::f32, .generator = &masks}),
          l3(width, 10, {.init = Init::he, .dtype = DType::f32, .generator = &masks}) {
        X = constant(masks.rand({784, batch}, DType::f32));
        Array t({10, batch}, DType::f32);
        for (std::size_t j = 0; j < batch; ++j) t.set_flat((j % 10) * batch + j, 1.0);
        T = constant(t);
    }
    Tensor loss(bool with_dropout) {
        DropoutOptions d{.keep_prob = with_dropout ? 0.5 : 1.0, .generator = &masks};
        Tensor h1 = dropout(relu(l1(X)), d);
        Tensor h2 = dropout(relu(l2(h1)), d);
        return softmax_cross_entropy(l3(h2), T, 0);
    }
    std::vector<Tensor> params() { return {l1.weight, l1.bias, l2.weight, l2.bias, l3.weight, l3.bias}; }
};

double saved_bytes(const Tensor& root) {
    double bytes = 0;
    for (const Node* n : topological_order(*root.node()))
        if (!n->is_leaf()) bytes += static_cast<double>(n->op->saved_bytes());
    return bytes;
}

void mlp_step(benchmark::State& state, bool with_dropout) {
    set_num_threads(2);
    const auto batch = static_cast<std::size_t>(state.range(0)), width = static_cast<std::size_t>(state.range(1));
    Mlp mlp(batch, width);
    SGD sgd(mlp.params(), 0.01);
    double masks = 0;
    for (auto _ : state) {
        Tensor loss = mlp.loss(with_dropout);
        masks = saved_bytes(loss);
        sgd.zero_grad();
        loss.backward();
        sgd.step();
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    state.counters["peak_rss_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
    state.counters["saved_for_backward_B"] = masks;  // (7): dropout masks, bit-packed
    state.counters["GFLOP"] = 2.0 * (784.0 * width + width * width + width * 10.0) * batch * 3 / 1e9;
}
void BM_MlpStep(benchmark::State& s) { mlp_step(s, true); }
void BM_MlpStepNoDropout(benchmark::State& s) { mlp_step(s, false); }

// (4) Only the 8 GEMMs one MLP step needs: 3 forward, 5 backward (no gradient for X).
void BM_MlpGemmOnly(benchmark::State& state) {
    set_num_threads(2);
    const int b = static_cast<int>(state.range(0)), w = static_cast<int>(state.range(1));
    std::vector<float> X(784u * b, 0.5f), W1(static_cast<std::size_t>(w) * 784, 0.01f), W2(static_cast<std::size_t>(w) * w, 0.01f),
        W3(10u * w, 0.01f), H1(static_cast<std::size_t>(w) * b), H2(static_cast<std::size_t>(w) * b), Z3(10u * b),
        dW1(W1.size()), dW2(W2.size()), dW3(W3.size());
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, w, b, 784, 1, W1.data(), 784, X.data(), b, 0, H1.data(), b);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, w, b, w, 1, W2.data(), w, H1.data(), b, 0, H2.data(), b);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 10, b, w, 1, W3.data(), w, H2.data(), b, 0, Z3.data(), b);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 10, w, b, 1, Z3.data(), b, H2.data(), b, 0, dW3.data(), w);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, w, b, 10, 1, W3.data(), w, Z3.data(), b, 0, H2.data(), b);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, w, w, b, 1, H2.data(), b, H1.data(), b, 0, dW2.data(), w);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, w, b, w, 1, W2.data(), w, H2.data(), b, 0, H1.data(), b);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, w, 784, b, 1, H1.data(), b, X.data(), b, 0, dW1.data(), 784);
        benchmark::ClobberMemory();
    }
}

// (5) Forward + backward of a chain of N scalar ops: the per-node overhead.
void BM_PerOpOverhead(benchmark::State& state) {
    const auto n = state.range(0);
    Tensor x = parameter(Array::scalar(1.0), "x");
    for (auto _ : state) {
        Tensor y = x;
        for (int64_t i = 0; i < n; ++i) y = y * 1.0000001;
        y.backward();
        x.zero_grad();
    }
    state.SetItemsProcessed(state.iterations() * n);  // items/s = nodes per second
}

// (6) Graph construction alone, as the number of nodes grows (per-node cost must stay flat). Freeing
// the graph is timed apart (paused, reported as the counter teardown_ns_per_node): once a graph
// outgrows the caches, its teardown is a walk through memory last touched long ago.
void BM_GraphBuild(benchmark::State& state) {
    const auto n = state.range(0);
    Tensor x = parameter(Array({4}, {1, 2, 3, 4}), "x");
    double teardown_ns = 0;
    for (auto _ : state) {
        Tensor y = x;
        for (int64_t i = 0; i < n; ++i) y = i % 2 ? y + x : y * 0.5;
        benchmark::DoNotOptimize(y.node().get());
        state.PauseTiming();
        const auto start = std::chrono::steady_clock::now();
        y = Tensor();
        teardown_ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        state.ResumeTiming();
    }
    state.counters["teardown_ns_per_node"] = teardown_ns / static_cast<double>(state.iterations() * n);
    state.SetItemsProcessed(state.iterations() * n);
}

// DOT export of a graph of 10 000 nodes (issue: "well under a second").
void BM_DotExport(benchmark::State& state) {
    Tensor x = parameter(Array({2, 2}, {1, 2, 3, 4}), "x");
    Tensor y = x;
    while (static_cast<int64_t>(topological_order(*y.node()).size()) < state.range(0)) y = tanh(y) + x;
    std::size_t bytes = 0;
    for (auto _ : state) bytes = to_dot(y, DotOptions{.show_saved = true}).size();
    state.counters["nodes"] = static_cast<double>(topological_order(*y.node()).size());
    state.counters["dot_bytes"] = static_cast<double>(bytes);
}

}  // namespace

BENCHMARK(BM_RegnetStep)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RegnetStepDropoutConstant)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RegnetStepDropoutMeasured)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RegnetStepAnomalyOn)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HandWrittenStep)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HandWrittenStepDropout)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MlpStep)->Args({256, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpStepNoDropout)->Args({256, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpGemmOnly)->Args({256, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerOpOverhead)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GraphBuild)->Arg(1000)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DotExport)->Arg(10000)->Unit(benchmark::kMillisecond);
// (6) growth: batch 1 … 4096 at width 1024, width 64 … 4096 at batch 256 (registered in the "growth" group).
BENCHMARK(BM_MlpStep)->Name("Growth/MlpStep")->ArgsProduct({{1, 16, 64, 256, 1024, 4096}, {1024}})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpGemmOnly)->Name("Growth/GemmOnly")->ArgsProduct({{1, 16, 64, 256, 1024, 4096}, {1024}})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpStep)->Name("Growth/MlpStepWidth")->ArgsProduct({{256}, {64, 256, 1024, 2048, 4096}})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpGemmOnly)->Name("Growth/GemmOnlyWidth")->ArgsProduct({{256}, {64, 256, 1024, 2048, 4096}})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
