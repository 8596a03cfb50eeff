// libtorch versions of bench/bench_xgrad.cpp's workloads: (1) regnet step (float64, 211 examples,
// 1 thread), (3) MLP step (float32, batch 256, dropout 0.5), (5) per-op overhead on a chain of
// scalar ops. Prints JSON with medians: {"regnet_step_us", "regnet_dropout_step_us", "mlp_step_ms",
// "mlp_peak_rss_MB", "per_op_ns"}. Usage: libtorch_bench [--quick]
#include <torch/torch.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
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

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const int repeats = quick ? 3 : 7;
    torch::manual_seed(0);
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
                "\"mlp_peak_rss_MB\": %.1f, \"per_op_ns\": %.3f}\n",
                regnet_us, regnet_dropout_us, mlp_ms, mlp_peak_rss_MB, per_op_ns);
}
