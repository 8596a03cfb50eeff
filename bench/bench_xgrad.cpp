// xgrad's benchmarks (Google Benchmark; medians of repetitions, ratios against baselines measured
// in the same run — see bench/compare). Numbers match docs/performance.md's table rows:
//   (1) regnet step  (2) hand-written step  (3) MLP step  (4) GEMM-only  (5) per-op overhead
//   (6) growth with batch/width and graph size  (7) memory saved for backward  — plus DOT export
//   of a 10 000-node graph and the cost of anomaly detection when off; the Fashion-MNIST CNN step,
//   its second convolution alone and the gemms it performs (its floor); an LSTM training step.
// The JSON context names the OpenBLAS build and core type the gemms ran on (openblas_*).

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <sys/resource.h>

#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <string>

#include "framework/kernels.hpp"
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

void regnet_step(benchmark::State& state, double keep_prob, DropoutScale scale, bool anomaly, bool fused = false,
                 bool philox = false) {
    set_num_threads(1);
    // The masks come from the thread's generator: numpy's MT19937, or Philox for the fast path.
    const Generator saved = global_generator();
    if (philox) global_generator() = Generator::philox(3);
    RegNetConfig config;
    config.keep_prob = keep_prob;
    config.scale = scale;
    config.fused = fused;
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
    state.counters["blas_threads"] = static_cast<double>(num_threads());
    if (keep_prob < 1.0) {  // the units a step's masks cover (what the generator draws for)
        double units = 0;
        const Tensor cost = model->cost((*model)(X), Y, 0.0);
        for (const Node* n : topological_order(cost.node_ref()))
            if (!n->is_leaf() && (n->op->name() == "dropout" || n->op->name() == "linear_relu_dropout"))
                units += static_cast<double>(n->value.size());
        state.counters["dropout_units"] = units;
    }
    global_generator() = saved;
}

void BM_RegnetStep(benchmark::State& s) { regnet_step(s, 1.0, DropoutScale::constant, false); }
void BM_RegnetStepDropoutConstant(benchmark::State& s) { regnet_step(s, 0.86, DropoutScale::constant, false); }
void BM_RegnetStepDropoutMeasured(benchmark::State& s) { regnet_step(s, 0.86, DropoutScale::measured, false); }
void BM_RegnetStepAnomalyOn(benchmark::State& s) { regnet_step(s, 1.0, DropoutScale::constant, true); }
// The hidden layers as LinearReLUDropout (linear_relu_dropout: one node, one pass each way).
void BM_RegnetStepDropoutFused(benchmark::State& s) { regnet_step(s, 0.86, DropoutScale::constant, false, true); }
// ... with masks from a Philox generator (one 32-bit word per unit instead of two MT19937 words).
void BM_RegnetStepDropoutFusedPhilox(benchmark::State& s) {
    regnet_step(s, 0.86, DropoutScale::constant, false, true, true);
}

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
    /// The same model with each hidden layer as one linear_relu_dropout node (one element-wise pass
    /// each way instead of three: what LinearReLUDropout modules record).
    Tensor fused_loss() {
        DropoutOptions d{.keep_prob = 0.5, .generator = &masks};
        Tensor h1 = linear_relu_dropout(X, l1.weight, l1.bias, Layout::features_first, d);
        Tensor h2 = linear_relu_dropout(h1, l2.weight, l2.bias, Layout::features_first, d);
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

double peak_rss_MB() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);  // the process's peak so far: bench/compare runs
                                     // the CNN and the LSTM apart
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void mlp_step(benchmark::State& state, bool with_dropout, bool fused = false) {
    set_num_threads(2);
    const auto batch = static_cast<std::size_t>(state.range(0)), width = static_cast<std::size_t>(state.range(1));
    Mlp mlp(batch, width);
    SGD sgd(mlp.params(), 0.01);
    double masks = 0;
    for (auto _ : state) {
        Tensor loss = fused ? mlp.fused_loss() : mlp.loss(with_dropout);
        masks = saved_bytes(loss);
        sgd.zero_grad();
        loss.backward();
        sgd.step();
    }
    state.counters["peak_rss_MB"] = peak_rss_MB();
    state.counters["saved_for_backward_B"] = masks;  // (7): dropout masks, bit-packed
    if (with_dropout) state.counters["dropout_units"] = 2.0 * static_cast<double>(batch * width);  // two masks
    state.counters["GFLOP"] = 2.0 * (784.0 * width + width * width + width * 10.0) * batch * 3 / 1e9;
    state.counters["blas_threads"] = static_cast<double>(num_threads());
}
void BM_MlpStep(benchmark::State& s) { mlp_step(s, true); }
void BM_MlpStepNoDropout(benchmark::State& s) { mlp_step(s, false); }
void BM_MlpStepFused(benchmark::State& s) { mlp_step(s, true, true); }

// The MLP step's SGD update alone (read each weight and its gradient, write the weight: 1.9 M
// float32 weights), repeated on the same arrays, so that they stay in the cache as far as it holds
// them: a lower bound on what the update costs inside a step, where the gemms have evicted them. The
// report sets it, with the masks' draw, against the MLP goal's budget over the gemm-only floor.
void BM_MlpSgdUpdate(benchmark::State& state) {
    set_num_threads(2);
    Mlp mlp(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
    SGD sgd(mlp.params(), 0.01);
    mlp.loss(true).backward();  // every parameter gets its gradient once
    for (auto _ : state) sgd.step();
    state.counters["blas_threads"] = static_cast<double>(num_threads());
}

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

std::size_t graph_nodes(const Tensor& root) { return topological_order(root.node_ref()).size(); }

// The CNN of examples/fashion_mnist.cpp (make_model, --model cnn, its defaults: dropout 0.5 constant,
// no Dropout2d) at batch 64 on 28×28 float32 images, cross_entropy and Adam: one training step.
struct Cnn {
    static constexpr std::size_t batch = 64;
    Generator gen{7};
    std::shared_ptr<Sequential> net = std::make_shared<Sequential>();
    Tensor X, labels;
    Cnn() {
        const ConvOptions conv{.padding = 1, .dtype = DType::f32, .generator = &gen};
        auto linear = [&](std::size_t in, std::size_t out) {
            return std::make_shared<Linear>(in, out, LinearOptions{.init = Init::he, .dtype = DType::f32,
                                                                   .generator = &gen, .layout = Layout::batch_first});
        };
        net->add(std::make_shared<Conv2dReLU>(1, 32, 3, conv), "conv1");
        net->add(std::make_shared<MaxPool2d>(2));
        net->add(std::make_shared<Conv2dReLU>(32, 64, 3, conv), "conv2");
        net->add(std::make_shared<MaxPool2d>(2));
        net->add(std::make_shared<Flatten>());
        net->add(linear(64 * 7 * 7, 128), "fc1");
        net->add(std::make_shared<ReLU>());
        net->add(std::make_shared<Dropout>(DropoutOptions{.keep_prob = 0.5, .example_axis = 0, .generator = &gen}));
        net->add(linear(128, 10), "fc2");
        X = constant(gen.rand({batch, 1, 28, 28}, DType::f32));
        Array t({batch}, DType::i64);
        for (std::size_t j = 0; j < batch; ++j) t.set_flat(j, static_cast<double>(j % 10));
        labels = constant(t);
    }
};

// Multiply-adds of one CNN step, ×2 for FLOPs: the forward products and, in backward, dW for every
// layer and dX for all but conv1 (its input is data).
double cnn_gflop() {
    const double n = Cnn::batch;
    const double conv1 = 32.0 * 9 * 784 * n, conv2 = 64.0 * 288 * 196 * n, fc1 = 128.0 * 3136 * n, fc2 = 10.0 * 128 * n;
    return 2.0 * (2 * conv1 + 3 * conv2 + 3 * fc1 + 3 * fc2) / 1e9;
}

// parallel_loops false: xgrad's own loops (im2col, col2im, pooling, ReLU, Adam) on the calling
// thread, as before parallel_for — the same run's measure of what the worker threads give.
void cnn_step(benchmark::State& state, bool parallel_loops) {
    set_num_threads(2);
    const bool before = detail::set_parallel_loops(parallel_loops);
    Cnn cnn;
    Adam adam(cnn.net->parameters(), 0.001);
    std::size_t nodes = 0;
    double forward_s = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        Tensor loss = cross_entropy((*cnn.net)(cnn.X), cnn.labels);
        forward_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        nodes = graph_nodes(loss);
        adam.zero_grad();
        loss.backward();
        adam.step();
    }
    state.counters["peak_rss_MB"] = peak_rss_MB();
    state.counters["nodes"] = static_cast<double>(nodes);
    state.counters["forward_ms"] = forward_s * 1e3 / static_cast<double>(state.iterations());
    state.counters["GFLOP"] = cnn_gflop();
    state.counters["blas_threads"] = static_cast<double>(num_threads());
    detail::set_parallel_loops(before);
}
void BM_CnnStep(benchmark::State& state) { cnn_step(state, true); }
void BM_CnnStepSerialLoops(benchmark::State& state) { cnn_step(state, false); }

// The CNN's second convolution alone, forward + backward (dX, dW, db): (64, 32, 14, 14) → 64
// channels, 3×3, padding 1 — im2col, gemms, col2im.
void BM_Conv2dForwardBackward(benchmark::State& state) {
    set_num_threads(2);
    Generator gen{7};
    Conv2d conv(32, 64, 3, ConvOptions{.padding = 1, .dtype = DType::f32, .generator = &gen});
    Tensor x = parameter(gen.rand({64, 32, 14, 14}, DType::f32), "x");
    const Array grad_out = Array::ones({64, 64, 14, 14}, DType::f32);
    for (auto _ : state) {
        Tensor y = conv(x);
        x.zero_grad();
        conv.weight.zero_grad();
        conv.bias.zero_grad();
        y.backward(grad_out);
    }
    state.counters["GFLOP"] = 2.0 * 3 * 64 * 288 * 196 * 64 / 1e9;
    state.counters["blas_threads"] = static_cast<double>(num_threads());
}

// The CNN's first max pooling alone, forward: (64, 32, 28, 28) float32 → 2 × 2 windows at stride 2,
// on xgrad's threads. Arg 1: the portable tap-by-tap loop (kernels::use_portable_kernels), arg 0:
// the AVX-512 row kernel where the CPU has it — what ops/conv.cpp's kernel is kept for.
void BM_MaxPool2dForward(benchmark::State& state) {
    set_num_threads(2);
    kernels::use_portable_kernels(state.range(0) != 0);
    Generator gen{7};
    const Tensor x = constant(gen.randn({64, 32, 28, 28}, DType::f32));
    for (auto _ : state) {
        Tensor y = max_pool2d(x, 2);
        benchmark::DoNotOptimize(y.value().data<float>());
    }
    kernels::use_portable_kernels(false);
    state.counters["avx512"] = kernels::avx512_kernels_enabled() ? 1 : 0;
}

/// One row-major sgemm: C (m×n) = op(A)·op(B) + beta·C, op(A) m×k, leading dimensions of the
/// stored (untransposed) matrices.
void sgemm(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float beta, float* c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
                ta ? m : k, b, tb ? k : n, beta, c, n);
}

// The floor of BM_CnnStep: the gemms its step performs, with xgrad's shapes, transposes, betas and
// threads, on buffers prepared once — no im2col, col2im, pooling, activations, dropout, loss, Adam,
// nor the sums of the partial weight gradients. ops/conv.cpp lowers one image at a time, the images
// spread over xgrad's threads, each running its own gemms (parallel_for_with_blas): per image, a
// forward product written into the batch's output, and in backward dW += dY·colsᵀ into the partial of
// its part of the batch (16 parts) and dcols = Wᵀ·dY (none for conv1: its input is data). An image's
// columns are in a buffer of its thread's, as im2col leaves them. The linear layers
// (ops/linalg.cpp, batch first) are single gemms on OpenBLAS's threads.
void BM_CnnGemmFloor(benchmark::State& state) {
    set_num_threads(2);
    constexpr int n = Cnn::batch, parts = 16;
    auto buffer = [](std::size_t size) { return std::vector<float>(size, 0.01f); };
    // conv1: W (32, 9), cols (9, 784), Y (n, 32, 784); conv2: W (64, 288), cols (288, 196),
    // Y (n, 64, 196), dcols (288, 196); fc1: X (n, 3136), W (128, 3136); fc2: X (n, 128), W (10, 128).
    auto w1 = buffer(32 * 9), y1 = buffer(n * 32 * 784), dw1 = buffer(parts * w1.size());
    auto w2 = buffer(64 * 288), y2 = buffer(n * 64 * 196), dw2 = buffer(parts * w2.size());
    auto x3 = buffer(n * 3136), w3 = buffer(128 * 3136), y3 = buffer(n * 128), dx3 = buffer(x3.size()),
         dw3 = buffer(w3.size());
    auto w4 = buffer(10 * 128), y4 = buffer(n * 10), dx4 = buffer(n * 128), dw4 = buffer(w4.size());
    // A thread's own column buffers, made once (ops/conv.cpp's come from mimalloc's free lists).
    auto scratch = [](std::size_t size, int which) -> float* {
        thread_local std::vector<float> buffers[2];
        if (buffers[which].size() < size) buffers[which].assign(size, 0.01f);
        return buffers[which].data();
    };
    for (auto _ : state) {
        parallel_for_with_blas(n, 1, [&](std::size_t first, std::size_t last) {  // conv1 forward
            const float* cols = scratch(9 * 784, 0);
            for (std::size_t i = first; i < last; ++i)
                sgemm(false, false, 32, 784, 9, w1.data(), cols, 0, y1.data() + i * 32 * 784);
        });
        parallel_for_with_blas(n, 1, [&](std::size_t first, std::size_t last) {  // conv2 forward
            const float* cols = scratch(288 * 196, 0);
            for (std::size_t i = first; i < last; ++i)
                sgemm(false, false, 64, 196, 288, w2.data(), cols, 0, y2.data() + i * 64 * 196);
        });
        sgemm(false, true, n, 128, 3136, x3.data(), w3.data(), 1, y3.data());     // fc1: Y = X·Wᵀ + b
        sgemm(false, true, n, 10, 128, y3.data(), w4.data(), 1, y4.data());       // fc2
        sgemm(false, false, n, 128, 10, y4.data(), w4.data(), 0, dx4.data());     // fc2: dX = G·W
        sgemm(true, false, 10, 128, n, y4.data(), y3.data(), 0, dw4.data());      //      dW = Gᵀ·X
        sgemm(false, false, n, 3136, 128, dx4.data(), w3.data(), 0, dx3.data());  // fc1: dX = G·W
        sgemm(true, false, 128, 3136, n, dx4.data(), x3.data(), 0, dw3.data());   //      dW = Gᵀ·X
        parallel_for_with_blas(parts, 1, [&](std::size_t first, std::size_t last) {  // conv2 backward
            const float* cols = scratch(288 * 196, 0);
            float* dcols = scratch(288 * 196, 1);
            for (std::size_t p = first; p < last; ++p)
                for (std::size_t i = chunk_begin(p, parts, n); i < chunk_begin(p + 1, parts, n); ++i) {
                    const float* dy = y2.data() + i * 64 * 196;
                    sgemm(false, true, 64, 288, 196, dy, cols, i == chunk_begin(p, parts, n) ? 0 : 1,
                          dw2.data() + p * w2.size());
                    sgemm(true, false, 288, 196, 64, w2.data(), dy, 0, dcols);
                }
        });
        parallel_for_with_blas(parts, 1, [&](std::size_t first, std::size_t last) {  // conv1 backward: dW only
            const float* cols = scratch(9 * 784, 0);
            for (std::size_t p = first; p < last; ++p)
                for (std::size_t i = chunk_begin(p, parts, n); i < chunk_begin(p + 1, parts, n); ++i)
                    sgemm(false, true, 32, 9, 784, y1.data() + i * 32 * 784, cols,
                          i == chunk_begin(p, parts, n) ? 0 : 1, dw1.data() + p * w1.size());
        });
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP"] = cnn_gflop();
    state.counters["blas_threads"] = static_cast<double>(num_threads());
}

// A training step of a one-layer LSTM (input 64, hidden 256, batch first) over a batch of 32
// sequences of 32 steps, a batch-first Linear head onto 28 classes (examples/char_rnn.cpp's
// vocabulary) and cross_entropy over every step, Adam. The inputs are dense (N, T, 64) floats, as
// an embedding would give. Counters: the recorded graph's node count and the forward pass's time
// (building the graph, arithmetic included). BM_LstmStep runs the layer as one lstm_layer node;
// BM_LstmStepUnrolled records every time step's ops (SequenceOptions::unrolled), the graph a
// step-by-step DOT drawing shows.
struct LstmTask {
    static constexpr std::size_t batch = 32, steps = 32, input = 64, hidden = 256, classes = 28;
    Generator gen{7};
    LSTM lstm;
    Linear head{hidden, classes, LinearOptions{.dtype = DType::f32, .generator = &gen, .layout = Layout::batch_first}};
    Tensor X, labels;
    explicit LstmTask(bool unrolled)
        : lstm(input, hidden,
               SequenceOptions{.batch_first = true, .cell = {.dtype = DType::f32, .generator = &gen}, .unrolled = unrolled}) {
        X = constant(gen.randn({batch, steps, input}, DType::f32));
        Array t({batch, steps}, DType::i64);
        for (std::size_t j = 0; j < t.size(); ++j) t.set_flat(j, static_cast<double>((j * 7) % classes));
        labels = constant(t);
    }
    std::vector<Tensor> parameters() const {
        std::vector<Tensor> p = lstm.parameters();
        for (const Tensor& t : head.parameters()) p.push_back(t);
        return p;
    }
    Tensor loss() { return cross_entropy(head(lstm(X)), labels, 2); }
};

void lstm_step(benchmark::State& state, bool unrolled) {
    set_num_threads(2);
    LstmTask task(unrolled);
    Adam adam(task.parameters(), 0.001);
    std::size_t nodes = 0;
    double forward_s = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        Tensor loss = task.loss();
        forward_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        nodes = graph_nodes(loss);
        adam.zero_grad();
        loss.backward();
        adam.step();
    }
    const double forward_ms = forward_s * 1e3 / static_cast<double>(state.iterations());
    state.counters["peak_rss_MB"] = peak_rss_MB();
    state.counters["nodes"] = static_cast<double>(nodes);
    state.counters["forward_ms"] = forward_ms;
    state.counters["forward_ns_per_node"] = forward_ms * 1e6 / static_cast<double>(nodes);
    state.counters["blas_threads"] = static_cast<double>(num_threads());
}
void BM_LstmStep(benchmark::State& state) { lstm_step(state, false); }
void BM_LstmStepUnrolled(benchmark::State& state) { lstm_step(state, true); }

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

// A dropout mask of n units at keep_prob 0.86 from each generator kind (range 1: 0 = MT19937,
// numpy's two words and a 53-bit compare per unit; 1 = Philox, one word per unit).
void BM_BernoulliBits(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    Generator gen = state.range(1) ? Generator::philox(7) : Generator(7);
    state.SetLabel(gen.is_philox() ? "philox" : "mt19937_numpy");
    std::vector<std::uint64_t> words((n + 63) / 64);
    for (auto _ : state) {
        gen.bernoulli_bits(0.86, n, words.data());
        benchmark::DoNotOptimize(words.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));  // items/s = mask bits per second
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
BENCHMARK(BM_RegnetStepDropoutFused)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RegnetStepDropoutFusedPhilox)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HandWrittenStep)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HandWrittenStepDropout)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MlpStep)->Args({256, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpStepNoDropout)->Args({256, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpStepFused)->Args({256, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpGemmOnly)->Args({256, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MlpSgdUpdate)->Args({256, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
// Registered in this order so that, run alone as bench/compare runs them, each peak_rss_MB is its own.
BENCHMARK(BM_CnnStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CnnStepSerialLoops)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Conv2dForwardBackward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CnnGemmFloor)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MaxPool2dForward)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_LstmStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LstmStepUnrolled)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerOpOverhead)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GraphBuild)->Arg(1000)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BernoulliBits)->Args({1 << 16, 0})->Args({1 << 16, 1})->Unit(benchmark::kMicrosecond);
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

// BENCHMARK_MAIN, plus the OpenBLAS build and core type in the JSON context (looked up at run time,
// as framework/threads.cpp does: xgrad links whichever BLAS the system provides).
int main(int argc, char** argv) {
    using Text = char* (*)();
    using Number = int (*)();
    const std::pair<const char*, const char*> texts[] = {{"openblas_get_config", "openblas_config"},
                                                         {"openblas_get_corename", "openblas_corename"}};
    for (const auto& [symbol, key] : texts)
        if (auto f = reinterpret_cast<Text>(dlsym(RTLD_DEFAULT, symbol))) benchmark::AddCustomContext(key, f());
    if (auto f = reinterpret_cast<Number>(dlsym(RTLD_DEFAULT, "openblas_get_parallel")))  // 0 serial, 1 pthreads, 2 OpenMP
        benchmark::AddCustomContext("openblas_parallel", std::to_string(f()));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
