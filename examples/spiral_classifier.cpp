// A three-class classifier in PyTorch's batch-first layout, written with the everyday op vocabulary:
// int64 labels, cross_entropy on class indices, argmax and equal for the accuracy, slices and
// index_select for mini-batches, printing. The data is CS231n's spiral (three interleaved arms),
// generated here from a numpy-compatible generator, so numpy with the same seed draws the same points.
//
//   build/examples/spiral_classifier [--points-per-class 100] [--hidden 100] [--iterations 2000]
//                                    [--learning-rate 1.0] [--batch-size 60] [--seed 0]

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>

#include "common/cli.hpp"
#include "xgrad.hpp"

using namespace xgrad;

namespace {

/// CS231n's spiral: for class k, radius r = linspace(0, 1, n) and angle t = linspace(4k, 4(k+1), n)
/// plus N(0, 0.2²) noise; the point is r·(sin t, cos t). X (3n, 2) batch first, labels (3n,) int64.
std::pair<Tensor, Tensor> spiral(std::size_t n, Generator& gen) {
    Array X({3 * n, 2}), y({3 * n}, DType::i64);
    for (std::size_t k = 0; k < 3; ++k) {
        const Array noise = gen.randn({n});
        for (std::size_t i = 0; i < n; ++i) {
            const double step = n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0;
            const double r = step, t = 4.0 * static_cast<double>(k) + 4.0 * step + 0.2 * noise.flat(i);
            X.set_flat(2 * (k * n + i), r * std::sin(t));
            X.set_flat(2 * (k * n + i) + 1, r * std::cos(t));
            y.set_flat(k * n + i, static_cast<double>(k));
        }
    }
    return {constant(X, "X"), constant(y, "labels")};
}

/// A random order of 0..n-1 as an int64 tensor (numpy's permutation).
Tensor shuffled(std::size_t n, Generator& gen) {
    const std::vector<std::size_t> order = gen.permutation(n);
    return constant(Array({n}, std::vector<double>(order.begin(), order.end()), DType::i64), "order");
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t points = 100, hidden = 100, iterations = 2000, batch_size = 60;
    double learning_rate = 1.0;
    std::uint32_t seed = 0;
    examples::CommandLine app("spiral_classifier", "A batch-first three-class classifier on CS231n's spiral data.");
    app.option("--points-per-class", points, "Points in each of the three arms").range(2, 1e6).show_default();
    app.option("--hidden", hidden, "Hidden units").range(1, 1e5).show_default();
    app.option("--iterations", iterations, "SGD steps").range(1, 1e8).show_default();
    app.option("--learning-rate", learning_rate, "SGD step size").positive().show_default();
    app.option("--batch-size", batch_size, "Examples per step (a shuffled mini-batch)").range(1, 3e6).show_default();
    app.option("--seed", seed, "Seed of the data, the weights and the batches").show_default();
    app.parse_or_exit(argc, argv);

    Generator gen(seed);
    const auto [X, labels] = spiral(points, gen);
    std::cout << "first three points: " << slice(X, 0, 0, 3) << "\n";

    // [tutorial: classifier]
    Sequential model;
    model.add(std::make_shared<Linear>(2, hidden, LinearOptions{.init = Init::he, .weight_name = "W1",
                                                                 .bias_name = "b1", .generator = &gen,
                                                                 .layout = Layout::batch_first}));
    model.add(std::make_shared<ReLU>());
    model.add(std::make_shared<Linear>(hidden, 3, LinearOptions{.init = Init::he, .weight_name = "W2",
                                                                 .bias_name = "b2", .generator = &gen,
                                                                 .layout = Layout::batch_first}));
    SGD optimizer(model.parameters(), learning_rate);
    const std::size_t m = X.shape()[0];
    batch_size = std::min(batch_size, m);
    for (std::size_t step = 0; step < iterations; ++step) {
        // A mini-batch: a random permutation's first batch_size rows, taken with index_select.
        const Tensor rows = slice(shuffled(m, gen), 0, 0, static_cast<std::int64_t>(batch_size));
        const Tensor logits = model(index_select(X, 0, rows));
        const Tensor loss = cross_entropy(logits, index_select(labels, 0, rows));  // classes on axis 1
        model.zero_grad();
        loss.backward();
        optimizer.step();
        if (step % (iterations / 4 == 0 ? 1 : iterations / 4) == 0)
            std::cout << "step " << step << ": loss " << loss.item() << "\n";
    }
    NoGradGuard no_grad;
    const Tensor predicted = argmax(model(X), 1);  // int64 class indices
    const double accuracy = mean(predicted == labels).item();
    // [tutorial: end]
    std::cout << "predicted classes of the last three points: " << slice(predicted, 0, -3, m) << "\n";
    std::cout << "training accuracy: " << accuracy << "\n";
    return 0;
}
