// The gradient-check table: every op, several shapes, broadcasting and reductions along each axis,
// central differences in float64, inputs kept away from kinks. Adding an op = one row here.

#include <cmath>

#include "helpers.hpp"

using namespace xgrad;

namespace {

enum class Domain { any, positive, away_from_zero, probability };

struct OpCase {
    std::string name;
    std::vector<Shape> shapes;
    std::function<Tensor(const std::vector<Tensor>&)> f;
    Domain domain = Domain::any;
};

Array sample(Generator& gen, const Shape& shape, Domain domain) {
    Array a = gen.randn(shape);
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double v = a.flat(i);
        switch (domain) {
            case Domain::any: break;
            case Domain::positive: a.set_flat(i, std::abs(v) + 0.5); break;
            case Domain::away_from_zero: a.set_flat(i, v + (v >= 0 ? 0.2 : -0.2)); break;
            case Domain::probability: a.set_flat(i, 0.1 + 0.8 / (1 + std::exp(-v))); break;
        }
    }
    return a;
}

Tensor labels(const Shape& shape) {
    Array y(shape);
    for (std::size_t i = 0; i < y.size(); ++i) y.set_flat(i, static_cast<double>(i % 3 == 0));
    return constant(y, "y");
}

Tensor one_hot_targets(const Shape& shape, int axis) {  // class (example index mod classes) set for each example
    Array t(shape);
    const std::size_t classes = shape[static_cast<std::size_t>(axis)];
    for (std::size_t r = 0; r < shape[0]; ++r)
        for (std::size_t col = 0; col < shape[1]; ++col) {
            const std::size_t cls = axis == 0 ? r : col, example = axis == 0 ? col : r;
            t.set_flat(r * shape[1] + col, cls == example % classes ? 1.0 : 0.0);
        }
    return constant(t, "t");
}

using V = const std::vector<Tensor>&;

/// int64 indices or labels for the rows below (never differentiated).
Tensor ints(const Shape& shape, std::vector<double> values) { return constant(Array(shape, std::move(values), DType::i64), "i"); }

std::vector<OpCase> op_table() {
    return {
        {"add", {{3, 4}, {3, 4}}, [](V x) { return x[0] + x[1]; }},
        {"add col-broadcast", {{3, 4}, {3, 1}}, [](V x) { return x[0] + x[1]; }},
        {"add row-broadcast", {{3, 4}, {4}}, [](V x) { return x[0] + x[1]; }},
        {"add 0-d", {{3, 4}, {}}, [](V x) { return x[0] + x[1]; }},
        {"add 3-d broadcast", {{2, 1, 4}, {3, 1}}, [](V x) { return x[0] + x[1]; }},
        {"sub", {{3, 4}, {3, 4}}, [](V x) { return x[0] - x[1]; }},
        {"sub broadcast", {{3, 4}, {1, 4}}, [](V x) { return x[0] - x[1]; }},
        {"mul", {{3, 4}, {3, 4}}, [](V x) { return x[0] * x[1]; }},
        {"mul broadcast", {{2, 3, 4}, {3, 1}}, [](V x) { return x[0] * x[1]; }},
        {"mul same tensor", {{3, 4}}, [](V x) { return x[0] * x[0]; }},
        {"div", {{3, 4}, {3, 4}}, [](V x) { return x[0] / x[1]; }, Domain::positive},
        {"div broadcast", {{3, 4}, {3, 1}}, [](V x) { return x[0] / x[1]; }, Domain::positive},
        {"neg", {{3, 4}}, [](V x) { return -x[0]; }},
        {"add_scalar", {{3, 4}}, [](V x) { return x[0] + 2.5; }},
        {"mul_scalar", {{3, 4}}, [](V x) { return x[0] * -1.5; }},
        {"div_scalar", {{3, 4}}, [](V x) { return x[0] / 0.86; }},
        {"rsub_scalar", {{3, 4}}, [](V x) { return 1.0 - x[0]; }},
        {"rdiv_scalar", {{3, 4}}, [](V x) { return 2.0 / x[0]; }, Domain::positive},
        // f64 → f64 only: finite differences through float32 cannot reach float64 precision. The
        // f32 ↔ f64 gradients are checked exactly in ops/astype_converts_forward_and_backward.
        {"astype (same dtype)", {{3, 4}}, [](V x) { return astype(x[0], DType::f64); }},
        {"dropout constant", {{3, 4}}, [](V x) { return dropout(x[0], {.keep_prob = 0.7}); }},
        {"dropout measured", {{3, 4}}, [](V x) { return dropout(x[0], {.keep_prob = 0.7, .scale = DropoutScale::measured}); }},
        {"dropout per-example", {{3, 4}}, [](V x) {
             return dropout(x[0], {.keep_prob = 0.7, .scale = DropoutScale::per_example});
         }},
        {"matmul", {{3, 4}, {4, 5}}, [](V x) { return matmul(x[0], x[1]); }},
        {"matmul Aᵀ·B", {{4, 3}, {4, 5}}, [](V x) { return matmul(x[0], x[1], true, false); }},
        {"matmul A·Bᵀ", {{3, 4}, {5, 4}}, [](V x) { return matmul(x[0], x[1], false, true); }},
        {"matmul Aᵀ·Bᵀ", {{4, 3}, {5, 4}}, [](V x) { return matmul(x[0], x[1], true, true); }},
        {"matmul vector", {{1, 4}, {4, 1}}, [](V x) { return matmul(x[0], x[1]); }},
        {"linear", {{3, 4}, {4, 5}, {3, 1}}, [](V x) { return linear(x[1], x[0], x[2]); }},
        {"linear one example", {{3, 4}, {4, 1}, {3, 1}}, [](V x) { return linear(x[1], x[0], x[2]); }},
        {"linear W·X+b", {{3, 2}, {2, 5}, {3, 1}}, [](V x) { return matmul(x[0], x[1]) + x[2]; }},
        // mask replayed by the checker; the ReLU kink is where W·X + b = 0, which these draws miss
        {"linear_relu_dropout", {{3, 4}, {4, 5}, {3, 1}},
         [](V x) { return linear_relu_dropout(x[1], x[0], x[2], Layout::features_first, {.keep_prob = 0.7}); }},
        {"linear_relu_dropout batch-first measured", {{6, 4}, {3, 4}, {3}}, [](V x) {
             return linear_relu_dropout(x[0], x[1], x[2], Layout::batch_first,
                                        {.keep_prob = 0.6, .scale = DropoutScale::measured});
         }},
        {"linear_relu_dropout per-example", {{3, 4}, {4, 5}, {3, 1}}, [](V x) {
             return linear_relu_dropout(x[1], x[0], x[2], Layout::features_first,
                                        {.keep_prob = 0.5, .scale = DropoutScale::per_example});
         }},
        {"transpose", {{3, 4}}, [](V x) { return transpose(x[0]); }},
        {"reshape", {{3, 4}}, [](V x) { return reshape(x[0], {2, 6}); }},
        {"sum all", {{3, 4}}, [](V x) { return sum(x[0]); }},
        {"sum axis 0", {{3, 4}}, [](V x) { return sum(x[0], 0); }},
        {"sum axis 1 keepdims", {{3, 4}}, [](V x) { return sum(x[0], 1, true); }},
        {"sum axis -1 of 3-d", {{2, 3, 4}}, [](V x) { return sum(x[0], -1); }},
        {"sum axis 1 of 3-d keepdims", {{2, 3, 4}}, [](V x) { return sum(x[0], 1, true); }},
        {"mean all", {{3, 4}}, [](V x) { return mean(x[0]); }},
        {"mean axis 0 keepdims", {{3, 4}}, [](V x) { return mean(x[0], 0, true); }},
        {"mean axis 1", {{3, 4}}, [](V x) { return mean(x[0], 1); }},
        {"exp", {{3, 4}}, [](V x) { return exp(x[0]); }},
        {"log", {{3, 4}}, [](V x) { return log(x[0]); }, Domain::positive},
        {"sqrt", {{3, 4}}, [](V x) { return sqrt(x[0]); }, Domain::positive},
        {"square", {{3, 4}}, [](V x) { return square(x[0]); }},
        {"pow 3", {{3, 4}}, [](V x) { return pow(x[0], 3.0); }, Domain::positive},
        {"pow -0.5", {{3, 4}}, [](V x) { return pow(x[0], -0.5); }, Domain::positive},
        {"relu", {{3, 4}}, [](V x) { return relu(x[0]); }, Domain::away_from_zero},
        {"sigmoid", {{3, 4}}, [](V x) { return sigmoid(x[0]); }},
        {"tanh", {{3, 4}}, [](V x) { return tanh(x[0]); }},
        {"softmax axis 0", {{3, 4}}, [](V x) { return softmax(x[0], 0); }},
        {"softmax axis 1", {{3, 4}}, [](V x) { return softmax(x[0], 1); }},
        {"log_softmax axis 0", {{3, 4}}, [](V x) { return log_softmax(x[0], 0); }},
        {"log_softmax axis -1", {{3, 4}}, [](V x) { return log_softmax(x[0], -1); }},
        {"binary_cross_entropy", {{1, 6}}, [](V x) { return binary_cross_entropy(x[0], labels({1, 6})); },
         Domain::probability},
        {"binary_cross_entropy soft labels", {{2, 3}},
         [](V x) { return binary_cross_entropy(x[0], constant(Array({2, 3}, {0.2, 0.5, 0.9, 0, 1, 0.3}))); },
         Domain::probability},
        {"binary_cross_entropy_with_logits", {{1, 6}},
         [](V x) { return binary_cross_entropy_with_logits(x[0], labels({1, 6})); }},
        {"softmax_cross_entropy axis 0", {{3, 4}},
         [](V x) { return softmax_cross_entropy(x[0], one_hot_targets({3, 4}, 0), 0); }},
        {"softmax_cross_entropy axis 1", {{4, 3}},
         [](V x) { return softmax_cross_entropy(x[0], one_hot_targets({4, 3}, 1), 1); }},
        {"sum_of_squares", {{3, 4}}, [](V x) { return sum_of_squares(x[0]); }},

        // ---- N-d matmul and the batch-first linear layer
        {"matmul batched", {{2, 3, 4}, {2, 4, 5}}, [](V x) { return matmul(x[0], x[1]); }},
        {"matmul batch broadcast", {{2, 1, 3, 4}, {3, 4, 2}}, [](V x) { return matmul(x[0], x[1]); }},
        {"matmul batch · matrix (one gemm)", {{2, 3, 4}, {4, 5}}, [](V x) { return matmul(x[0], x[1]); }},
        {"matmul batch · matrixᵀ", {{2, 3, 4}, {5, 4}}, [](V x) { return matmul(x[0], x[1], false, true); }},
        {"matmul batchedᵀ flags", {{2, 4, 3}, {2, 5, 4}}, [](V x) { return matmul(x[0], x[1], true, true); }},
        {"matmul matrix · batch", {{3, 4}, {2, 4, 5}}, [](V x) { return matmul(x[0], x[1]); }},
        {"matmul 1-d · batch", {{4}, {2, 4, 3}}, [](V x) { return matmul(x[0], x[1]); }},
        {"matmul batch · 1-d", {{2, 3, 4}, {4}}, [](V x) { return matmul(x[0], x[1]); }},
        {"matmul 1-d · 1-d", {{4}, {4}}, [](V x) { return matmul(x[0], x[1]); }},
        {"linear batch-first", {{5, 4}, {2, 3, 4}, {5}},
         [](V x) { return linear(x[1], x[0], x[2], Layout::batch_first); }},
        {"linear batch-first 2-d", {{5, 4}, {6, 4}, {5}},
         [](V x) { return linear(x[1], x[0], x[2], Layout::batch_first); }},

        // ---- shape
        {"reshape -1", {{2, 3, 4}}, [](V x) { return reshape(x[0], {-1, 4}); }},
        {"permute", {{2, 3, 4}}, [](V x) { return permute(x[0], {2, 0, 1}); }},
        {"permute negative axes", {{2, 3, 4, 2}}, [](V x) { return permute(x[0], {-1, 1, -4, 2}); }},
        {"transpose axes", {{2, 3, 4}}, [](V x) { return transpose(x[0], 0, -1); }},
        {"flatten", {{2, 3, 2, 2}}, [](V x) { return flatten(x[0]); }},
        {"flatten middle", {{2, 3, 2, 2}}, [](V x) { return flatten(x[0], 1, 2); }},
        {"squeeze", {{3, 1, 4}}, [](V x) { return squeeze(x[0], 1); }},
        {"unsqueeze", {{3, 4}}, [](V x) { return unsqueeze(x[0], -1); }},
        {"broadcast_to", {{3, 1}}, [](V x) { return broadcast_to(x[0], {2, 3, 4}); }},
        {"concat axis 0", {{2, 3}, {4, 3}}, [](V x) { return concat({x[0], x[1]}, 0); }},
        {"concat axis -1 of 3-d", {{2, 3, 1}, {2, 3, 4}, {2, 3, 2}}, [](V x) { return concat({x[0], x[1], x[2]}, -1); }},
        {"concat the same tensor twice", {{2, 3}}, [](V x) { return concat({x[0], x[0]}, 1); }},
        {"stack", {{2, 3}, {2, 3}}, [](V x) { return stack({x[0], x[1]}, 1); }},
        {"split", {{5, 3}}, [](V x) {
             const auto parts = split(x[0], {1, 3, 1}, 0);
             return parts[0] * 2.0 + sum(parts[1], 0, true) - parts[2];
         }},

        // ---- indexing
        {"slice", {{5, 4}}, [](V x) { return slice(x[0], 0, 1, 4); }},
        {"slice step 2 negative start", {{3, 7}}, [](V x) { return slice(x[0], -1, -6, 7, 2); }},
        {"slice negative step", {{3, 7}}, [](V x) { return slice(x[0], 1, 5, 0, -2); }},
        {"slice empty", {{3, 4}}, [](V x) { return sum(slice(x[0], 0, 2, 2)) + sum(x[0]); }},
        {"select", {{3, 4, 2}}, [](V x) { return select(x[0], 1, -1); }},
        {"x[0]", {{3, 4}}, [](V x) { return x[0][1]; }},
        {"index_select repeated", {{4, 3}}, [](V x) { return index_select(x[0], 0, ints({4}, {2, 0, 2, 3})); }},
        {"index_select axis -1", {{2, 3, 4}}, [](V x) { return index_select(x[0], -1, ints({2}, {3, 1})); }},
        {"gather axis 1", {{3, 4}}, [](V x) { return gather(x[0], 1, ints({3, 2}, {0, 3, 1, 1, 2, 0})); }},
        {"gather axis 0 smaller", {{3, 4}}, [](V x) { return gather(x[0], 0, ints({2, 3}, {2, 0, 1, 1, 2, 2})); }},

        // ---- reductions
        {"max all", {{3, 4}}, [](V x) { return max(x[0]); }},
        {"max axis", {{3, 4}}, [](V x) { return max(x[0], 1); }},
        {"max axis 0 keepdims 3-d", {{3, 2, 4}}, [](V x) { return max(x[0], 0, true); }},
        {"min all", {{3, 4}}, [](V x) { return min(x[0]); }},
        {"min axis -1", {{2, 3, 4}}, [](V x) { return min(x[0], -1); }},
        {"max with ties", {{2, 2}}, [](V x) { return max(concat({x[0], x[0]}, 1), 1); }},
        {"logsumexp", {{3, 4}}, [](V x) { return logsumexp(x[0], 1); }},
        {"logsumexp axis 0 keepdims 3-d", {{3, 2, 4}}, [](V x) { return logsumexp(x[0], 0, true); }},
        {"var", {{3, 4}}, [](V x) { return var(x[0], 1); }},
        {"var ddof 1 keepdims", {{2, 5, 3}}, [](V x) { return var(x[0], 1, true, 1); }},

        // ---- element-wise
        {"abs", {{3, 4}}, [](V x) { return abs(x[0]); }, Domain::away_from_zero},
        {"clamp", {{3, 4}}, [](V x) { return clamp(x[0], -0.55, 0.45); }},
        {"maximum", {{3, 4}, {3, 4}}, [](V x) { return maximum(x[0], x[1]); }},
        {"maximum broadcast", {{3, 4}, {4}}, [](V x) { return maximum(x[0], x[1]); }},
        {"minimum broadcast", {{2, 1, 4}, {3, 1}}, [](V x) { return minimum(x[0], x[1]); }},
        {"where", {{3, 4}, {3, 4}}, [](V x) { return where(greater(x[0], x[1]), x[0], x[1] * 2.0); }},
        {"where 3-way broadcast", {{3, 1}, {4}}, [](V x) {
             const Tensor cond = constant(Array({2, 1, 1}, {1, 0}));
             return where(cond, x[0], x[1]);
         }},

        // ---- activations
        {"leaky_relu", {{3, 4}}, [](V x) { return leaky_relu(x[0], 0.1); }, Domain::away_from_zero},
        {"elu", {{3, 4}}, [](V x) { return elu(x[0], 0.7); }, Domain::away_from_zero},
        {"gelu", {{3, 4}}, [](V x) { return gelu(x[0] * 3.0); }},
        {"silu", {{3, 4}}, [](V x) { return silu(x[0] * 3.0); }},
        {"softplus", {{3, 4}}, [](V x) { return softplus(x[0] * 10.0); }},
        {"log_sigmoid", {{3, 4}}, [](V x) { return log_sigmoid(x[0] * 10.0); }},

        // ---- losses with a reduction
        {"mse_loss", {{3, 4}, {3, 4}}, [](V x) { return mse_loss(x[0], x[1]); }},
        {"mse_loss sum", {{3, 4}, {3, 4}}, [](V x) { return mse_loss(x[0], x[1], Reduction::sum); }},
        {"l1_loss none", {{3, 4}, {3, 4}}, [](V x) { return l1_loss(x[0], x[1], Reduction::none); }},
        {"huber_loss both pieces", {{3, 4}, {3, 4}}, [](V x) { return huber_loss(x[0] * 2.0, x[1], 0.8); }},
        {"nll_loss", {{4, 3}}, [](V x) { return nll_loss(log_softmax(x[0], 1), ints({4}, {0, 2, 1, 2})); }},
        {"nll_loss axis 0 sum", {{3, 4}}, [](V x) {
             return nll_loss(log_softmax(x[0], 0), ints({4}, {0, 2, 1, 2}), 0, Reduction::sum);
         }},
        {"cross_entropy", {{4, 3}}, [](V x) { return cross_entropy(x[0], ints({4}, {0, 2, 1, 2})); }},
        {"cross_entropy (N, C, d) none", {{2, 3, 2}}, [](V x) {
             return cross_entropy(x[0], ints({2, 2}, {0, 2, 1, 1}), {.axis = 1, .reduction = Reduction::none});
         }},
        {"cross_entropy smoothing sum", {{4, 3}}, [](V x) {
             return cross_entropy(x[0], ints({4}, {1, 0, 2, 2}),
                                  {.axis = -1, .reduction = Reduction::sum, .label_smoothing = 0.1});
         }},
        // ---- convolution, pooling, normalisation (batch first)
        {"conv2d pad 1", {{2, 3, 5, 5}, {4, 3, 3, 3}, {4}}, [](V x) { return conv2d(x[0], x[1], x[2], 1, 1); }},
        {"conv2d stride 2 odd sizes", {{1, 2, 7, 6}, {3, 2, 3, 2}, {3}},
         [](V x) { return conv2d(x[0], x[1], x[2], {2, 1}, {1, 0}); }},
        {"conv2d same size, rectangular", {{2, 3, 4, 5}, {2, 3, 3, 5}, {2}},
         [](V x) { return conv2d(x[0], x[1], x[2], 1, {1, 2}); }},
        {"conv2d same size, kernel past the plane", {{1, 2, 2, 3}, {2, 2, 5, 7}},
         [](V x) { return conv2d(x[0], x[1], {}, 1, {2, 3}); }},
        {"conv2d dilation 2", {{1, 2, 7, 7}, {2, 2, 3, 3}}, [](V x) { return conv2d(x[0], x[1], {}, 1, 2, 2); }},
        {"conv2d groups 2", {{2, 4, 5, 5}, {6, 2, 3, 3}, {6}}, [](V x) { return conv2d(x[0], x[1], x[2], 2, 1, 1, 2); }},
        {"conv2d depthwise", {{1, 3, 4, 4}, {3, 1, 2, 2}}, [](V x) { return conv2d(x[0], x[1], {}, 1, 0, 1, 3); }},
        {"conv2d 1x1 (no im2col)", {{2, 3, 4, 4}, {5, 3, 1, 1}, {5}}, [](V x) { return conv2d(x[0], x[1], x[2]); }},
        {"conv2d_relu pad 1", {{2, 3, 5, 5}, {4, 3, 3, 3}, {4}}, [](V x) { return conv2d_relu(x[0], x[1], x[2], 1, 1); }},
        {"conv2d_relu groups 2 stride 2 dilation 2", {{2, 4, 7, 6}, {6, 2, 3, 2}},
         [](V x) { return conv2d_relu(x[0], x[1], {}, 2, 1, 2, 2); }},
        {"conv2d_relu 1x1 groups 2", {{2, 4, 3, 5}, {6, 2, 1, 1}, {6}},
         [](V x) { return conv2d_relu(x[0], x[1], x[2], 1, 0, 1, 2); }},
        {"conv1d", {{2, 3, 9}, {4, 3, 3}, {4}}, [](V x) { return conv1d(x[0], x[1], x[2], 2, 1); }},
        {"max_pool2d odd", {{2, 2, 5, 5}}, [](V x) { return max_pool2d(x[0], 2); }},
        {"max_pool2d k3 s2 pad 1", {{1, 2, 6, 5}}, [](V x) { return max_pool2d(x[0], 3, Size2{2}, 1); }},
        {"avg_pool2d", {{2, 2, 4, 6}}, [](V x) { return avg_pool2d(x[0], 2); }},
        {"avg_pool2d k3 s2 pad 1", {{1, 2, 5, 5}}, [](V x) { return avg_pool2d(x[0], 3, Size2{2}, 1); }},
        {"adaptive_avg_pool2d", {{2, 2, 5, 7}}, [](V x) { return adaptive_avg_pool2d(x[0], {3, 2}); }},
        {"batch_norm (N, C)", {{5, 3}, {3}, {3}}, [](V x) { return batch_norm(x[0], {}, {}, x[1], x[2], true); }},
        {"batch_norm (N, C, H, W)", {{2, 3, 2, 2}, {3}, {3}},
         [](V x) { return batch_norm(x[0], {}, {}, x[1], x[2], true, 0.1, 1e-3); }},
        {"batch_norm no affine", {{4, 2, 3}}, [](V x) { return batch_norm(x[0], {}, {}, {}, {}, true); }},
        {"batch_norm evaluation", {{4, 3}, {3}, {3}}, [](V x) {
             const Tensor mean = constant(Array({3}, {0.1, -0.2, 0.3})), var = constant(Array({3}, {0.5, 1.5, 2.0}));
             return batch_norm(x[0], mean, var, x[1], x[2], false);
         }},
        {"layer_norm last axis", {{2, 3, 4}, {4}, {4}}, [](V x) { return layer_norm(x[0], {4}, x[1], x[2]); }},
        {"layer_norm two axes", {{2, 3, 4}, {3, 4}, {3, 4}}, [](V x) { return layer_norm(x[0], {3, 4}, x[1], x[2]); }},
        {"layer_norm no affine", {{3, 5}}, [](V x) { return layer_norm(x[0], {5}); }},
        {"lstm_cell", {{3, 8}, {3, 2}}, [](V x) { return lstm_cell(x[0], x[1]); }},
        {"lstm_cell one row", {{1, 20}, {1, 5}}, [](V x) { return lstm_cell(x[0], x[1]); }},
        // lstm_layer: x, h0, c0, weight_ih, weight_hh[, biases][, mask] — every input gets a gradient,
        // the recurrent-dropout mask included; output, h_T and c_T all reach the loss.
        {"lstm_layer 5 steps, mask", {{5, 2, 3}, {2, 4}, {2, 4}, {16, 3}, {16, 4}, {16}, {16}, {2, 4}}, [](V x) {
             const LstmSequence s = lstm_layer(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);
             return concat({reshape(s.output, {-1}), reshape(s.h, {-1}), reshape(s.c, {-1})});
         }},
        {"lstm_layer batch first, no bias", {{2, 5, 3}, {2, 3}, {2, 3}, {12, 3}, {12, 3}}, [](V x) {
             const LstmSequence s = lstm_layer(x[0], x[1], x[2], x[3], x[4], {}, {}, {}, true);
             return concat({reshape(s.output, {-1}), reshape(s.c, {-1})});
         }},
        {"lstm_layer one step", {{1, 3, 2}, {3, 2}, {3, 2}, {8, 2}, {8, 2}}, [](V x) {
             const LstmSequence s = lstm_layer(x[0], x[1], x[2], x[3], x[4]);
             return concat({reshape(s.output, {-1}), reshape(s.c, {-1})});
         }},
        {"dropout2d constant", {{2, 3, 2, 2}}, [](V x) { return dropout2d(x[0], {.keep_prob = 0.6}); }},
        {"dropout2d per-example", {{2, 4, 3}}, [](V x) {
             return dropout2d(x[0], {.keep_prob = 0.6, .scale = DropoutScale::per_example});
         }},

        {"cross_entropy course layout", {{3, 5}}, [](V x) { return cross_entropy(x[0], ints({5}, {0, 1, 2, 0, 1}), 0); }},
    };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gradcheck)

BOOST_AUTO_TEST_CASE(every_op_passes_a_central_difference_check) {
    Generator gen(42);
    GradcheckOptions options;
    options.epsilon = 1e-6;
    options.tolerance = 1e-7;
    for (const OpCase& c : op_table()) {
        std::vector<Tensor> inputs;
        for (std::size_t k = 0; k < c.shapes.size(); ++k) {
            std::string name = "x";  // appended, not "x" + ...: GCC 12 warns falsely on that temporary
            name += std::to_string(k);
            inputs.push_back(parameter(sample(gen, c.shapes[k], c.domain), name));
        }
        const GradcheckReport report = xgrad::gradcheck([&] { return c.f(inputs); }, inputs, options);
        BOOST_TEST(report.passed, c.name << ": " << report.summary());
        BOOST_TEST(report.elements > 0u);
    }
}

namespace {
// An op with a deliberately broken backward: y = x²; "dy/dx" = factor·x (4x: doubled), and NaN at
// the elements listed in `nan_at`.
struct WrongSquare final : Op {
    double factor;
    std::vector<std::size_t> nan_at;
    explicit WrongSquare(double factor = 4.0, std::vector<std::size_t> nan_at = {})
        : factor(factor), nan_at(std::move(nan_at)) {}
    std::string name() const override { return "wrong_square"; }
    Array forward(const Inputs& x) override {
        Array y = *x[0];
        for (std::size_t i = 0; i < y.size(); ++i) y.set_flat(i, y.flat(i) * y.flat(i));
        return y;
    }
    Grads backward(const BackwardArgs& a) const override {
        Array g = a.grad_out;
        for (std::size_t i = 0; i < g.size(); ++i) g.set_flat(i, g.flat(i) * factor * a.inputs[0]->flat(i));
        for (std::size_t i : nan_at) g.set_flat(i, std::nan(""));
        return {std::move(g)};
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_doubled_backward_is_caught) {
    Tensor x = parameter(Array({2, 3}, {0.5, -1.0, 2.0, 1.5, -0.3, 0.7}), "x");
    const auto report = xgrad::gradcheck([&] { return apply_op(std::make_unique<WrongSquare>(), {x}); }, {x});
    BOOST_TEST(!report.passed);
    BOOST_TEST(report.difference > 1e-2);
    BOOST_TEST(std::abs(report.difference - 1.0 / 3.0) < 1e-6);  // ||2g - g|| / (||2g|| + ||g||)
    BOOST_TEST(report.worst_input == "x");
    BOOST_TEST(std::abs(report.worst_analytic - 2.0 * report.worst_numeric) < 1e-5);
    BOOST_TEST(xgrad::test::contains(report.summary(), "FAIL"));
}

// A NaN anywhere — in the backward's gradient or in the function's values (so the numeric gradient) —
// fails the check, and the report names the first NaN element. (The norms' sum was NaN, `> 0` false,
// and the difference came out 0: PASS.)
BOOST_AUTO_TEST_CASE(a_nan_gradient_fails) {
    Tensor x = parameter(Array({3}, {1.0, 2.0, 3.0}), "x");
    const auto nan_backward = xgrad::gradcheck(
        [&] { return apply_op(std::make_unique<WrongSquare>(2.0, std::vector<std::size_t>{1, 2}), {x}); }, {x});
    BOOST_TEST(!nan_backward.passed);
    BOOST_TEST(std::isnan(nan_backward.difference));
    BOOST_TEST(nan_backward.worst_index == 1u);
    BOOST_TEST(xgrad::test::contains(nan_backward.summary(), "FAIL"));
    const auto nan_function = xgrad::gradcheck([&] { return sum(log(x - 2.5)); }, {x});  // log of negatives
    BOOST_TEST(!nan_function.passed);
    BOOST_TEST(nan_function.worst_index == 0u);
}

BOOST_AUTO_TEST_CASE(a_whole_model_loss_is_checked_as_one_vector) {
    Generator gen(3);
    Tensor W1 = parameter(gen.randn({4, 2}), "W1"), b1 = parameter(gen.randn({4, 1}), "b1");
    Tensor W2 = parameter(gen.randn({1, 4}), "W2"), b2 = parameter(gen.randn({1, 1}), "b2");
    Tensor X = constant(gen.randn({2, 5})), Y = constant(Array({1, 5}, {1, 0, 1, 1, 0}));
    auto loss = [&] {
        return binary_cross_entropy(sigmoid(matmul(W2, tanh(matmul(W1, X) + b1)) + b2), Y) +
               sum_of_squares(W1) * 0.01;
    };
    const auto report = xgrad::gradcheck(loss, {W1, b1, W2, b2});
    BOOST_TEST(report.passed, report.summary());
    BOOST_TEST(report.elements == 8u + 4u + 4u + 1u);
    BOOST_TEST(report.evaluations == 1u + 2u * report.elements);
}

// The ops whose result carries no gradient (tests/check_op_coverage.py lists them): each must
// return a tensor cut from the graph even when its input requires grad, so no backward can ever
// pretend to differentiate an index or a comparison.
BOOST_AUTO_TEST_CASE(non_differentiable_ops_are_constants) {
    Tensor x = parameter(Array({2, 3}, {0.5, -1.0, 2.0, 1.5, 0.0, 0.7}), "x");
    Tensor y = parameter(Array({2, 3}, {0.5, 1.0, -2.0, 1.5, 0.0, 0.1}), "y");
    const Tensor labels = constant(Array({2}, {2, 0}, DType::i64));
    const std::vector<std::pair<std::string, Tensor>> results = {
        {"argmax", argmax(x, 1)},          {"argmin", argmin(x, 0)},          {"equal", equal(x, y)},
        {"less", less(x, y)},              {"greater", greater(x, y)},        {"sign", sign(x)},
        {"one_hot", one_hot(labels, 3)},   {"astype int64", astype(x, DType::i64)},
    };
    for (const auto& [name, t] : results) {
        BOOST_TEST(!t.requires_grad(), name);
        BOOST_TEST(t.is_leaf(), name);
    }
    BOOST_TEST((argmax(x, 1).dtype() == DType::i64));
    BOOST_TEST((equal(x, y).dtype() == DType::f64));
    // ... and a loss built through them still differentiates the rest: sign(x)·x = |x|.
    const auto report = xgrad::gradcheck([&] { return sum(sign(x) * x * y); }, {x, y});
    BOOST_TEST(report.passed, report.summary());
}

BOOST_AUTO_TEST_CASE(checker_rejects_inputs_it_cannot_check) {
    Tensor f32 = parameter(Array({2}, DType::f32), "w32");
    std::string msg = xgrad::test::message_of<DTypeError>([&] { xgrad::gradcheck([&] { return sum(f32); }, {f32}); });
    BOOST_TEST(xgrad::test::contains(msg, "w32"));
    Tensor c = constant(Array({2}), "data");
    msg = xgrad::test::message_of<ValueError>([&] { xgrad::gradcheck([&] { return sum(c); }, {c}); });
    BOOST_TEST(xgrad::test::contains(msg, "data"));
}

BOOST_AUTO_TEST_SUITE_END()
