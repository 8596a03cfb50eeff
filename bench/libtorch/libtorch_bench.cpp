// libtorch versions of bench/bench_xgrad.cpp's workloads, one group per run (--workload), so that
// each group's peak RSS is its own process's, as bench/compare runs xgrad's:
//   core (default): (1) regnet step (float64, 211 examples, 1 thread), (3) MLP step (float32, batch 256,
//     dropout 0.5), (5) per-op overhead on a chain of scalar ops; also the build: libtorch's thread
//     counts, at::get_parallel_info(), at::show_config() and the OpenBLAS core type its gemms run on.
//   cnn: the Fashion-MNIST CNN step (examples/fashion_mnist.cpp's model, batch 64, Adam) and its second
//     convolution's forward + backward, float32, two threads.
//   lstm: an LSTM step (input 64, hidden 256, batch first, 32 sequences of 32 steps, a Linear head
//     onto 28 classes, cross_entropy, Adam), float32, two threads.
// Prints one JSON object of medians. Usage: libtorch_bench [--quick] [--workload core|cnn|lstm]
#include <torch/torch.h>

#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

template <class F>
double median_seconds(F&& step, int repeats, int inner) {
    std::vector<double> t;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < inner; ++i) step();
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / inner);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

double peak_rss_MB() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);  // the process's peak so far
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    return out + "\"";
}

/// OpenBLAS as loaded in this process (through libblas.so.3), asked at run time: "" / -1 if absent.
std::string openblas_text(const char* symbol) {
    auto f = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, symbol));
    return f ? f() : "";
}
int openblas_threads() {
    auto f = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    return f ? f() : -1;
}

/// The thread counts a workload ran with: libtorch's intra-op (OpenMP) pool and OpenBLAS's own.
std::string threads_json(const char* prefix) {
    return "\"" + std::string(prefix) + "_threads\": " + std::to_string(at::get_num_threads()) + ", \"" + prefix +
           "_openblas_threads\": " + std::to_string(openblas_threads());
}

// examples/fashion_mnist.cpp's CNN at batch 64 (28×28, float32, dropout 0.5), cross_entropy, Adam.
void cnn(bool quick, int repeats) {
    namespace nn = torch::nn;
    torch::set_num_threads(2);
    nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)), nn::ReLU(),
                       nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)),
                       nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(), nn::Linear(64 * 7 * 7, 128),
                       nn::ReLU(), nn::Dropout(0.5), nn::Linear(128, 10));
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(0.001));
    auto X = torch::rand({64, 1, 28, 28});
    auto labels = torch::arange(64, torch::kLong) % 10;
    auto step = [&] {
        auto loss = torch::nn::functional::cross_entropy(net->forward(X), labels);
        adam.zero_grad();
        loss.backward();
        adam.step();
    };
    step();  // first-call setup (oneDNN primitives, allocator) out of the timings
    const double step_ms = median_seconds(step, repeats, quick ? 1 : 5) * 1e3;
    const double cnn_peak = peak_rss_MB();

    nn::Conv2d conv(nn::Conv2dOptions(32, 64, 3).padding(1));
    auto x = torch::rand({64, 32, 14, 14}).requires_grad_(true);
    auto grad_out = torch::ones({64, 64, 14, 14});
    auto conv_step = [&] {
        auto y = conv->forward(x);
        x.mutable_grad().reset();
        conv->zero_grad();
        y.backward(grad_out);
    };
    conv_step();
    const double conv_ms = median_seconds(conv_step, repeats, quick ? 1 : 10) * 1e3;
    std::printf("{\"cnn_step_ms\": %.3f, \"cnn_peak_rss_MB\": %.1f, \"conv2d_forward_backward_ms\": %.3f, %s}\n",
                step_ms, cnn_peak, conv_ms, threads_json("cnn").c_str());
}

// torch::nn::LSTM (64 → 256, batch first) over (32, 32, 64), a Linear head onto 28 classes,
// cross_entropy over every step, Adam: bench_xgrad.cpp's BM_LstmStep.
void lstm(bool quick, int repeats) {
    namespace nn = torch::nn;
    torch::set_num_threads(2);
    nn::LSTM rnn(nn::LSTMOptions(64, 256).batch_first(true));
    nn::Linear head(256, 28);
    std::vector<torch::Tensor> parameters = rnn->parameters();
    for (auto& t : head->parameters()) parameters.push_back(t);
    torch::optim::Adam adam(parameters, torch::optim::AdamOptions(0.001));
    auto X = torch::randn({32, 32, 64});
    auto labels = (torch::arange(32 * 32, torch::kLong) * 7) % 28;
    double forward_s = 0;
    int steps = 0;
    auto step = [&] {
        const auto start = std::chrono::steady_clock::now();
        auto logits = head->forward(std::get<0>(rnn->forward(X)));
        auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, 28}), labels);
        forward_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ++steps;
        adam.zero_grad();
        loss.backward();
        adam.step();
    };
    step();
    forward_s = 0, steps = 0;
    const double step_ms = median_seconds(step, repeats, quick ? 1 : 5) * 1e3;
    std::printf("{\"lstm_step_ms\": %.3f, \"lstm_forward_ms\": %.3f, \"lstm_peak_rss_MB\": %.1f, %s}\n", step_ms,
                forward_s * 1e3 / steps, peak_rss_MB(), threads_json("lstm").c_str());
}

int main(int argc, char** argv) {
    bool quick = false;
    std::string workload = "core";
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (std::strcmp(argv[i], "--workload") == 0 && i + 1 < argc) {
            workload = argv[++i];
        } else {
            std::fprintf(stderr, "usage: libtorch_bench [--quick] [--workload core|cnn|lstm]\n");
            return 2;
        }
    }
    const int repeats = quick ? 3 : 7;
    torch::manual_seed(0);
    if (workload == "cnn") {
        cnn(quick, repeats);
        return 0;
    }
    if (workload == "lstm") {
        lstm(quick, repeats);
        return 0;
    }
    if (workload != "core") {
        std::fprintf(stderr, "libtorch_bench: unknown workload '%s' (core, cnn or lstm)\n", workload.c_str());
        return 2;
    }
    // One thread pool only: libtorch's intra-op threads and OpenBLAS's would fight over 2 cores.
    torch::set_num_threads(1);
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    auto X = torch::randn({2, 211}, opts), Y = (torch::rand({1, 211}, opts) < 0.5).to(torch::kFloat64);
    auto regnet = [&](double keep) {
        std::vector<torch::Tensor> p = {torch::randn({20, 2}, opts) / std::sqrt(2.0), torch::zeros({20, 1}, opts),
                                        torch::randn({3, 20}, opts) / std::sqrt(20.0), torch::zeros({3, 1}, opts),
                                        torch::randn({1, 3}, opts) / std::sqrt(3.0), torch::zeros({1, 1}, opts)};
        for (auto& t : p) t.requires_grad_(true);
        torch::optim::SGD sgd(p, 0.3);
        return [p, sgd = std::move(sgd), keep, &X, &Y]() mutable {
            auto A1 = torch::relu(p[0].mm(X) + p[1]);
            if (keep < 1) A1 = torch::dropout(A1, 1 - keep, true);
            auto A2 = torch::relu(p[2].mm(A1) + p[3]);
            if (keep < 1) A2 = torch::dropout(A2, 1 - keep, true);
            auto A3 = torch::sigmoid(p[4].mm(A2) + p[5]);
            auto cost = torch::binary_cross_entropy(A3, Y);
            sgd.zero_grad();
            cost.backward();
            sgd.step();
        };
    };
    const double regnet_us = median_seconds(regnet(1.0), repeats, quick ? 200 : 2000) * 1e6;
    const double regnet_dropout_us = median_seconds(regnet(0.86), repeats, quick ? 200 : 2000) * 1e6;

    torch::set_num_threads(2);
    auto f = torch::TensorOptions().dtype(torch::kFloat32);
    auto l1 = torch::nn::Linear(784, 1024), l2 = torch::nn::Linear(1024, 1024), l3 = torch::nn::Linear(1024, 10);
    auto Xm = torch::rand({256, 784}, f);
    auto labels = torch::arange(256, torch::kLong) % 10;
    std::vector<torch::Tensor> mp;
    for (auto* l : {&l1, &l2, &l3})
        for (auto& t : (*l)->parameters()) mp.push_back(t);
    torch::optim::SGD msgd(mp, 0.01);
    auto mlp_step = [&] {
        auto h1 = torch::dropout(torch::relu(l1->forward(Xm)), 0.5, true);
        auto h2 = torch::dropout(torch::relu(l2->forward(h1)), 0.5, true);
        auto loss = torch::nn::functional::cross_entropy(l3->forward(h2), labels);
        msgd.zero_grad();
        loss.backward();
        msgd.step();
    };
    const double mlp_ms = median_seconds(mlp_step, repeats, quick ? 2 : 10) * 1e3;
    const std::string mlp_threads = threads_json("mlp");
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);  // the process's peak so far: the regnet and the MLP steps, as xgrad's
    const double mlp_peak_rss_MB = static_cast<double>(usage.ru_maxrss) / 1024.0;

    torch::set_num_threads(1);
    auto x = torch::ones({1}, opts).requires_grad_(true);
    const int chain = 1000;
    auto overhead = [&] {
        auto y = x;
        for (int i = 0; i < chain; ++i) y = y * 1.0000001;
        y.backward();
        x.mutable_grad().reset();
    };
    const double per_op_ns = median_seconds(overhead, repeats, quick ? 5 : 50) / chain * 1e9;
    std::printf("{\"regnet_step_us\": %.3f, \"regnet_dropout_step_us\": %.3f, \"mlp_step_ms\": %.3f, "
                "\"mlp_peak_rss_MB\": %.1f, \"per_op_ns\": %.3f, %s, \"openblas_corename\": %s, "
                "\"openblas_config\": %s, \"parallel_info\": %s, \"build_config\": %s}\n",
                regnet_us, regnet_dropout_us, mlp_ms, mlp_peak_rss_MB, per_op_ns, mlp_threads.c_str(),
                json_string(openblas_text("openblas_get_corename")).c_str(),
                json_string(openblas_text("openblas_get_config")).c_str(), json_string(at::get_parallel_info()).c_str(),
                json_string(at::show_config()).c_str());
}
