// op_forward_cases OUT.npz: runs every op of ops/ops.hpp (and Tensor's member sugar and operators)
// on random inputs and writes each case's inputs and outputs to one .npz, as "<case>__in0",
// "<case>__in1", ... and "<case>__out" (or "<case>__out0", "__out1", ... for several outputs).
// tests/ops_vs_numpy.py recomputes every output with numpy from the saved inputs and compares.
//
// A case's name starts with the name of the op it tests ("slice_negative_step"): the script checks
// that every op of ops/ops.hpp starts at least one case. An op that throws is reported on stderr and
// its case left out of the file, so the script fails that case (and this program exits 1).

#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "xgrad.hpp"

namespace {
using namespace xgrad;

using V = const std::vector<Tensor>&;
constexpr DType f32 = DType::f32, f64 = DType::f64, i64 = DType::i64;
const double qnan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();

/// What a case's op returns: one tensor, or several (split; batch_norm's running statistics).
struct Outputs {
    std::vector<Tensor> tensors;
    Outputs(Tensor t) : tensors{std::move(t)} {}                 // NOLINT: a case returns op(x)
    Outputs(std::vector<Tensor> ts) : tensors(std::move(ts)) {}  // NOLINT: or split(x, ...)
};

class Cases {
public:
    /// Runs op on the inputs and records both. A name used twice is a bug in this table: it throws.
    void add(const std::string& name, const std::vector<Tensor>& inputs,
             const std::function<Outputs(V)>& op) {
        if (!names_.insert(name).second) throw std::logic_error("duplicate case " + name);
        try {
            const std::vector<Tensor> out = op(inputs).tensors;
            for (std::size_t i = 0; i < inputs.size(); ++i)
                arrays_[name + "__in" + std::to_string(i)] = inputs[i].value();
            for (std::size_t i = 0; i < out.size(); ++i)
                arrays_[name + "__out" + (out.size() == 1 ? "" : std::to_string(i))] = out[i].value();
        } catch (const std::exception& e) {
            std::cerr << "op_forward_cases: " << name << ": " << e.what() << "\n";
            ++errors_;
        }
    }

    // ---- inputs (all from one numpy-compatible stream; the values are saved, so its order is free) ----

    /// scale · randn
    Tensor normal(const Shape& shape, double scale = 1.0, DType dtype = f64) {
        return transformed(gen_.randn(shape), dtype, [scale](double v) { return scale * v; });
    }
    /// Uniform on [lo, hi).
    Tensor uniform(const Shape& shape, double lo, double hi, DType dtype = f64) {
        return transformed(gen_.rand(shape), dtype, [lo, hi](double v) { return lo + (hi - lo) * v; });
    }
    /// round(2 · randn): small integers, so that maxima, minima and comparisons tie.
    Tensor integers(const Shape& shape, DType dtype = f64) {
        return transformed(gen_.randn(shape), dtype, [](double v) { return std::round(2.0 * v); });
    }
    /// int64 class indices in [0, classes), or in [-classes, classes) with negatives (for indexing).
    Tensor labels(const Shape& shape, std::int64_t classes, bool negatives = false) {
        const double lo = negatives ? -static_cast<double>(classes) : 0.0, hi = static_cast<double>(classes);
        return transformed(gen_.rand(shape), i64,
                           [lo, hi](double v) { return std::floor(lo + (hi - lo) * v); });
    }
    /// Values given in row-major order.
    static Tensor values(const Shape& shape, std::vector<double> v, DType dtype = f64) {
        return constant(Array(shape, std::move(v), dtype));
    }

    const std::map<std::string, Array>& arrays() const { return arrays_; }
    int errors() const { return errors_; }

private:
    template <class F>
    static Tensor transformed(const Array& a, DType dtype, F f) {
        std::vector<double> v = a.to_vector();
        for (double& e : v) e = f(e);
        return constant(Array(a.shape(), std::move(v), dtype));
    }

    Generator gen_{20240601};
    std::set<std::string> names_;
    std::map<std::string, Array> arrays_;
    int errors_ = 0;
};

void arithmetic_cases(Cases& c) {
    c.add("add_broadcast_3d", {c.normal({2, 3, 4}), c.normal({3, 1})}, [](V x) { return add(x[0], x[1]); });
    c.add("add_broadcast_both", {c.normal({2, 1, 3}), c.normal({5, 1})}, [](V x) { return x[0] + x[1]; });
    c.add("add_0d_and_vector", {c.normal({}), c.normal({3})}, [](V x) { return add(x[0], x[1]); });
    c.add("add_scalar", {c.normal({3, 4})}, [](V x) { return add(x[0], 2.5); });
    c.add("add_operator_scalar_left", {c.normal({3, 4})}, [](V x) { return 2.5 + x[0]; });
    c.add("add_f32", {c.normal({3, 4}, 1, f32), c.normal({4}, 1, f32)}, [](V x) { return add(x[0], x[1]); });
    c.add("sub_broadcast", {c.normal({3, 4}), c.normal({4})}, [](V x) { return sub(x[0], x[1]); });
    c.add("sub_scalar_left", {c.normal({2, 3})}, [](V x) { return sub(1.5, x[0]); });
    c.add("sub_operator_scalar_right", {c.normal({2, 3})}, [](V x) { return x[0] - 1.5; });
    c.add("sub_operator_4d", {c.normal({2, 1, 3, 1}), c.normal({4, 1, 5})}, [](V x) { return x[0] - x[1]; });
    c.add("mul_broadcast_4d", {c.normal({2, 1, 3, 1}), c.normal({4, 1, 5})},
          [](V x) { return mul(x[0], x[1]); });
    c.add("mul_scalar", {c.normal({3, 4})}, [](V x) { return mul(x[0], -3.0); });
    c.add("mul_operator_scalar_left", {c.normal({3, 4})}, [](V x) { return 0.5 * x[0]; });
    c.add("mul_f32", {c.normal({3, 1}, 1, f32), c.normal({3, 4}, 1, f32)}, [](V x) { return x[0] * x[1]; });
    c.add("mul_big_broadcast", {c.normal({37, 1}), c.normal({29})}, [](V x) { return x[0] * x[1]; });
    c.add("div_broadcast", {c.normal({3, 4}), c.uniform({3, 1}, 0.5, 2)},
          [](V x) { return div(x[0], x[1]); });
    c.add("div_scalar", {c.normal({3, 4})}, [](V x) { return div(x[0], 3.0); });
    c.add("div_scalar_left", {c.uniform({3, 4}, 0.5, 2)}, [](V x) { return div(2.0, x[0]); });
    c.add("div_operator_scalar_left", {c.uniform({5}, -2, -0.5)}, [](V x) { return 1.0 / x[0]; });
    c.add("div_f32", {c.normal({2, 3}, 1, f32), c.uniform({3}, 0.5, 2, f32)},
          [](V x) { return x[0] / x[1]; });
    c.add("neg_3d", {c.normal({2, 3, 4})}, [](V x) { return neg(x[0]); });
    c.add("neg_operator_f32", {c.normal({4}, 1, f32)}, [](V x) { return -x[0]; });
    c.add("astype_f64_to_f32", {c.normal({3, 4})}, [](V x) { return astype(x[0], f32); });
    c.add("astype_f32_to_f64", {c.normal({3, 4}, 1, f32)}, [](V x) { return astype(x[0], f64); });
    // numpy's astype truncates toward zero: -2.7 → -2.
    c.add("astype_f64_to_i64_truncates", {c.normal({4, 5}, 3)}, [](V x) { return astype(x[0], i64); });
    c.add("astype_f32_to_i64", {c.normal({6}, 3, f32)}, [](V x) { return astype(x[0], i64); });
    c.add("astype_i64_to_f64", {c.labels({2, 3}, 10, true)}, [](V x) { return astype(x[0], f64); });
    c.add("astype_method", {c.normal({2, 3})}, [](V x) { return x[0].astype(f32); });
}

void linalg_cases(Cases& c) {
    auto product = [](V x) { return matmul(x[0], x[1]); };
    c.add("matmul_2d", {c.normal({3, 4}), c.normal({4, 5})}, product);
    c.add("matmul_batch_broadcast", {c.normal({2, 1, 3, 4}), c.normal({5, 4, 2})}, product);
    c.add("matmul_vector_batch", {c.normal({4}), c.normal({3, 4, 2})}, product);
    c.add("matmul_batch_vector", {c.normal({2, 3, 4}), c.normal({4})}, product);
    c.add("matmul_matrix_vector", {c.normal({3, 4}), c.normal({4})}, product);
    c.add("matmul_vector_vector", {c.normal({4}), c.normal({4})}, product);
    c.add("matmul_batch_matrix", {c.normal({2, 3, 4}), c.normal({4, 5})}, product);
    c.add("matmul_matrix_batch", {c.normal({3, 4}), c.normal({2, 4, 5})}, product);
    c.add("matmul_transpose_a_batched", {c.normal({2, 4, 3}), c.normal({2, 4, 5})},
          [](V x) { return matmul(x[0], x[1], true, false); });
    c.add("matmul_transpose_b_batched", {c.normal({2, 3, 4}), c.normal({5, 4})},
          [](V x) { return matmul(x[0], x[1], false, true); });
    c.add("matmul_transpose_both_broadcast", {c.normal({3, 1, 4, 3}), c.normal({2, 5, 4})},
          [](V x) { return matmul(x[0], x[1], true, true); });
    c.add("matmul_transpose_a_2d", {c.normal({4, 3}), c.normal({4, 2})},
          [](V x) { return matmul(x[0], x[1], true); });
    c.add("matmul_inner_size_zero", {c.normal({3, 0}), c.normal({0, 2})}, product);
    c.add("matmul_f32_batched", {c.normal({2, 3, 4}, 1, f32), c.normal({2, 4, 2}, 1, f32)}, product);
    // Sizes that are not multiples of any vector width or block.
    c.add("matmul_big", {c.normal({65, 33}), c.normal({33, 17})}, product);
    c.add("matmul_big_batch_matrix", {c.normal({7, 33, 9}), c.normal({9, 5})}, product);
    c.add("matmul_big_transpose_b_broadcast", {c.normal({3, 1, 17, 8}), c.normal({4, 12, 8})},
          [](V x) { return matmul(x[0], x[1], false, true); });

    auto features_first = [](V x) { return linear(x[0], x[1], x[2]); };
    auto batch_first = [](V x) { return linear(x[0], x[1], x[2], Layout::batch_first); };
    c.add("linear_features_first", {c.normal({4, 3}), c.normal({5, 4}), c.normal({5, 1})}, features_first);
    c.add("linear_batch_first_3d", {c.normal({2, 3, 4}), c.normal({5, 4}), c.normal({5})}, batch_first);
    c.add("linear_batch_first_2d", {c.normal({6, 4}), c.normal({3, 4}), c.normal({3})}, batch_first);
    c.add("linear_features_first_f32",
          {c.normal({4, 3}, 1, f32), c.normal({2, 4}, 1, f32), c.normal({2, 1}, 1, f32)},
          [](V x) { return linear(x[0], x[1], x[2], Layout::features_first); });
}

void shape_cases(Cases& c) {
    c.add("reshape_infer", {c.normal({2, 3, 4})}, [](V x) { return reshape(x[0], {4, -1}); });
    c.add("reshape_to_0d", {c.normal({1, 1})}, [](V x) { return reshape(x[0], Shape{}); });
    c.add("reshape_int64", {c.labels({2, 6}, 9)}, [](V x) { return reshape(x[0], {3, 1, 4}); });
    c.add("reshape_method", {c.normal({2, 6})}, [](V x) { return x[0].reshape({2, -1, 2}); });
    c.add("permute_3d", {c.normal({2, 3, 4})}, [](V x) { return permute(x[0], {2, 0, 1}); });
    c.add("permute_negative_axes_4d", {c.normal({2, 3, 4, 5})},
          [](V x) { return permute(x[0], {-1, 0, -2, 1}); });
    c.add("permute_int64", {c.labels({2, 3, 2}, 7)}, [](V x) { return permute(x[0], {1, 2, 0}); });
    c.add("permute_method", {c.normal({2, 3, 4})}, [](V x) { return x[0].permute({0, 2, 1}); });
    c.add("transpose_2d", {c.normal({3, 5})}, [](V x) { return transpose(x[0]); });
    c.add("transpose_axes_3d", {c.normal({2, 3, 4})}, [](V x) { return transpose(x[0], 0, 2); });
    c.add("transpose_negative_axes_4d", {c.normal({2, 3, 4, 5})},
          [](V x) { return transpose(x[0], -1, -3); });
    c.add("transpose_int64", {c.labels({3, 4}, 5)}, [](V x) { return transpose(x[0]); });
    c.add("transpose_method_t", {c.normal({4, 2})}, [](V x) { return x[0].t(); });
    c.add("transpose_method_axes", {c.normal({2, 3, 4})}, [](V x) { return x[0].transpose(1, -1); });
    c.add("flatten_default_4d", {c.normal({2, 3, 4, 5})}, [](V x) { return flatten(x[0]); });
    c.add("flatten_1_2_4d", {c.normal({2, 3, 4, 5})}, [](V x) { return flatten(x[0], 1, 2); });
    c.add("flatten_0_neg2", {c.normal({2, 3, 4})}, [](V x) { return flatten(x[0], 0, -2); });
    c.add("flatten_int64", {c.labels({2, 2, 3}, 4)}, [](V x) { return flatten(x[0]); });
    c.add("flatten_method", {c.normal({2, 3, 4})}, [](V x) { return x[0].flatten(0); });
    c.add("flatten_0d", {c.normal({})}, [](V x) { return flatten(x[0], 0, -1); });
    c.add("squeeze_negative_axis", {c.normal({3, 1, 4})}, [](V x) { return squeeze(x[0], -2); });
    c.add("squeeze_first", {c.normal({1, 3})}, [](V x) { return squeeze(x[0], 0); });
    c.add("squeeze_int64", {c.labels({2, 3, 1}, 4)}, [](V x) { return squeeze(x[0], -1); });
    c.add("squeeze_method", {c.normal({2, 1, 1, 3})}, [](V x) { return x[0].squeeze(2); });
    c.add("unsqueeze_last", {c.normal({3, 4})}, [](V x) { return unsqueeze(x[0], -1); });
    c.add("unsqueeze_negative", {c.normal({3, 4})}, [](V x) { return unsqueeze(x[0], -2); });
    c.add("unsqueeze_first_int64", {c.labels({3}, 4)}, [](V x) { return unsqueeze(x[0], 0); });
    c.add("unsqueeze_method", {c.normal({2, 3})}, [](V x) { return x[0].unsqueeze(1); });
    c.add("broadcast_to_3d", {c.normal({3, 1})}, [](V x) { return broadcast_to(x[0], {2, 3, 4}); });
    c.add("broadcast_to_0d", {c.normal({})}, [](V x) { return broadcast_to(x[0], {2, 2}); });
    c.add("broadcast_to_int64", {c.labels({1, 4}, 6)}, [](V x) { return broadcast_to(x[0], {3, 4}); });
    c.add("concat_axis1_3d", {c.normal({2, 1, 4}), c.normal({2, 3, 4}), c.normal({2, 2, 4})},
          [](V x) { return concat(x, 1); });
    c.add("concat_axis0", {c.normal({2, 3}), c.normal({1, 3})}, [](V x) { return concat(x); });
    c.add("concat_negative_axis", {c.normal({2, 2, 1}), c.normal({2, 2, 3})},
          [](V x) { return concat(x, -1); });
    c.add("concat_with_empty", {c.normal({2, 0}), c.normal({2, 3})}, [](V x) { return concat(x, 1); });
    c.add("concat_int64", {c.labels({2}, 5), c.labels({3}, 5)}, [](V x) { return concat(x); });
    c.add("concat_f32", {c.normal({2, 2}, 1, f32), c.normal({2, 1}, 1, f32)},
          [](V x) { return concat(x, -1); });
    c.add("stack_axis_neg1", {c.normal({3, 4}), c.normal({3, 4}), c.normal({3, 4})},
          [](V x) { return stack(x, -1); });
    c.add("stack_axis0", {c.normal({2, 3}), c.normal({2, 3})}, [](V x) { return stack(x); });
    c.add("stack_axis1_3d", {c.normal({2, 3, 2}), c.normal({2, 3, 2})}, [](V x) { return stack(x, 1); });
    c.add("stack_int64", {c.labels({3}, 5), c.labels({3}, 5)}, [](V x) { return stack(x, 1); });
    c.add("stack_single", {c.normal({3})}, [](V x) { return stack(x, 1); });
    c.add("split_uneven_3", {c.normal({7, 4})}, [](V x) { return split(x[0], {1, 2, 4}); });
    c.add("split_negative_axis_with_empty", {c.normal({3, 9})},
          [](V x) { return split(x[0], {4, 0, 5}, -1); });
    c.add("split_axis1_3d", {c.normal({2, 5, 3})}, [](V x) { return split(x[0], {3, 2}, 1); });
    c.add("split_int64", {c.labels({6}, 10)}, [](V x) { return split(x[0], {2, 3, 1}); });
}

void indexing_cases(Cases& c) {
    c.add("slice_basic", {c.normal({6, 4})}, [](V x) { return slice(x[0], 0, 1, 4); });
    c.add("slice_step3", {c.normal({10, 3})}, [](V x) { return slice(x[0], 0, 1, 10, 3); });
    c.add("slice_negative_step", {c.normal({7, 3})}, [](V x) { return slice(x[0], 0, 6, 0, -2); });
    c.add("slice_negative_step_to_start", {c.normal({7, 3})},
          [](V x) { return slice(x[0], 0, 5, -100, -2); });
    c.add("slice_reverse_all", {c.normal({3, 7})}, [](V x) { return slice(x[0], 1, -1, -8, -1); });
    c.add("slice_negative_step_clipped_start", {c.normal({6})},
          [](V x) { return slice(x[0], 0, 100, 1, -3); });
    c.add("slice_empty", {c.normal({5, 4})}, [](V x) { return slice(x[0], 0, 3, 1); });
    c.add("slice_empty_equal_bounds", {c.normal({5, 4})}, [](V x) { return slice(x[0], 1, 2, 2); });
    c.add("slice_empty_negative_step", {c.normal({5, 4})}, [](V x) { return slice(x[0], 0, 1, 3, -1); });
    c.add("slice_negative_bounds", {c.normal({3, 8})}, [](V x) { return slice(x[0], 1, -5, -1); });
    c.add("slice_clip_stop", {c.normal({5, 2})}, [](V x) { return slice(x[0], 0, 2, 100); });
    c.add("slice_clip_start", {c.normal({5, 2})}, [](V x) { return slice(x[0], 0, -100, 3); });
    c.add("slice_axis_neg1_3d", {c.normal({2, 5, 6})}, [](V x) { return slice(x[0], -1, 1, 6, 2); });
    c.add("slice_int64", {c.labels({4, 6}, 9)}, [](V x) { return slice(x[0], 1, -1, 0, -2); });
    // Steps of ±2^63 (given values, not draws: the cases after these keep their inputs).
    const Tensor seven = Cases::values({7}, {0.5, -1, 2, 3.25, 4, -5, 6});
    c.add("slice_step_int64_max", {seven},
          [](V x) { return slice(x[0], 0, 0, 3, std::numeric_limits<std::int64_t>::max()); });
    c.add("slice_step_int64_min", {seven},
          [](V x) { return slice(x[0], 0, 2, 0, std::numeric_limits<std::int64_t>::min()); });
    c.add("slice_method", {c.normal({4, 5})}, [](V x) { return x[0].slice(1, 0, 3); });
    c.add("select_axis1_3d", {c.normal({3, 4, 5})}, [](V x) { return select(x[0], 1, 2); });
    c.add("select_negative_index_axis", {c.normal({3, 4, 5})}, [](V x) { return select(x[0], -1, -1); });
    c.add("select_1d_to_0d", {c.normal({4})}, [](V x) { return select(x[0], 0, 3); });
    c.add("select_int64", {c.labels({3, 4}, 8)}, [](V x) { return select(x[0], 0, -2); });
    c.add("select_method_bracket", {c.normal({3, 4})}, [](V x) { return x[0][0]; });
    c.add("select_method_bracket_negative", {c.normal({3, 2, 2})}, [](V x) { return x[0][-1]; });

    c.add("index_select_repeated", {c.normal({5, 3}), Cases::values({5}, {4, 0, 4, 2, 4}, i64)},
          [](V x) { return index_select(x[0], 0, x[1]); });
    c.add("index_select_axis_neg1_3d", {c.normal({2, 3, 6}), c.labels({4}, 6)},
          [](V x) { return index_select(x[0], -1, x[1]); });
    c.add("index_select_negative_indices", {c.normal({4, 5}), Cases::values({3}, {-1, 0, -4}, i64)},
          [](V x) { return index_select(x[0], 1, x[1]); });
    c.add("index_select_empty_indices", {c.normal({4, 3}), Cases::values({0}, {}, i64)},
          [](V x) { return index_select(x[0], 0, x[1]); });
    c.add("index_select_int64_values", {c.labels({4, 3}, 100), c.labels({6}, 4)},
          [](V x) { return index_select(x[0], 0, x[1]); });
    c.add("index_select_f32", {c.normal({3, 4}, 1, f32), c.labels({5}, 3)},
          [](V x) { return index_select(x[0], 0, x[1]); });

    c.add("gather_axis0", {c.normal({4, 3}), c.labels({5, 3}, 4)}, [](V x) { return gather(x[0], 0, x[1]); });
    c.add("gather_axis_neg1_3d", {c.normal({2, 3, 5}), c.labels({2, 3, 4}, 5)},
          [](V x) { return gather(x[0], -1, x[1]); });
    c.add("gather_smaller_index", {c.normal({4, 5}), c.labels({3, 2}, 5)},
          [](V x) { return gather(x[0], 1, x[1]); });
    c.add("gather_negative_indices", {c.normal({3, 4}), c.labels({3, 4}, 4, true)},
          [](V x) { return gather(x[0], 1, x[1]); });
    c.add("gather_int64_values", {c.labels({3, 4}, 50), c.labels({2, 4}, 3)},
          [](V x) { return gather(x[0], 0, x[1]); });
    c.add("gather_empty_index", {c.normal({3, 4}), Cases::values({3, 0}, {}, i64)},
          [](V x) { return gather(x[0], 1, x[1]); });

    c.add("one_hot_1d", {c.labels({6}, 4)}, [](V x) { return one_hot(x[0], 4); });
    c.add("one_hot_2d", {c.labels({2, 3}, 5)}, [](V x) { return one_hot(x[0], 5); });
    c.add("one_hot_f32_unused_classes", {c.labels({4}, 2)}, [](V x) { return one_hot(x[0], 6, f32); });
    c.add("one_hot_empty_labels", {Cases::values({0}, {}, i64)}, [](V x) { return one_hot(x[0], 3); });
}

void reduction_cases(Cases& c) {
    c.add("sum_all_3d", {c.normal({2, 3, 4})}, [](V x) { return sum(x[0]); });
    c.add("sum_axis_neg1_3d", {c.normal({2, 3, 4})}, [](V x) { return sum(x[0], -1); });
    c.add("sum_axis0_keepdims", {c.normal({3, 4})}, [](V x) { return sum(x[0], 0, true); });
    c.add("sum_axis1_4d", {c.normal({2, 3, 4, 2})}, [](V x) { return sum(x[0], 1); });
    c.add("sum_empty_axis", {c.normal({0, 3})}, [](V x) { return sum(x[0], 0); });
    c.add("sum_all_empty", {c.normal({0, 3})}, [](V x) { return sum(x[0]); });
    c.add("sum_big_axis0", {c.normal({257, 33})}, [](V x) { return sum(x[0], 0); });
    c.add("sum_big_all", {c.normal({31, 37})}, [](V x) { return sum(x[0]); });
    c.add("sum_f32", {c.normal({5, 4}, 1, f32)}, [](V x) { return sum(x[0], 1); });
    // Rows past numpy's 128-element blocks (split in two, then in eight lanes each) and all lengths
    // of the rest: the exact check below holds only for numpy's pairwise order.
    c.add("sum_long_rows", {c.normal({3, 1000}, 1e3)}, [](V x) { return sum(x[0], 1); });
    c.add("sum_long_rows_f32", {c.normal({4, 301}, 1e3, f32)}, [](V x) { return sum(x[0], -1); });
    for (std::size_t n : {1, 7, 8, 9, 15, 16, 17, 127, 128, 129, 135, 136, 255, 256, 257, 1031})
        c.add("sum_row_length_" + std::to_string(n), {c.normal({2, n}, 1e3)}, [](V x) { return sum(x[0], 1); });
    std::vector<double> negative_zeros(18, -0.0);
    negative_zeros[13] = 0.0;
    c.add("sum_negative_zeros", {Cases::values({2, 9}, negative_zeros)},
          [](V x) { return std::vector<Tensor>{sum(x[0], 1), sum(x[0], 0)}; });
    c.add("sum_method_all", {c.normal({3, 3})}, [](V x) { return x[0].sum(); });
    c.add("sum_method_axis", {c.normal({3, 4})}, [](V x) { return x[0].sum(-2, true); });
    c.add("mean_all", {c.normal({3, 5})}, [](V x) { return mean(x[0]); });
    c.add("mean_axis_neg2_keepdims_4d", {c.normal({2, 3, 4, 5})}, [](V x) { return mean(x[0], -2, true); });
    c.add("mean_f32", {c.normal({4, 6}, 1, f32)}, [](V x) { return mean(x[0], 0); });
    c.add("mean_method_all", {c.normal({2, 3})}, [](V x) { return x[0].mean(); });
    c.add("mean_method_axis", {c.normal({2, 3})}, [](V x) { return x[0].mean(1); });
    c.add("mean_big_axis1", {c.normal({33, 257})}, [](V x) { return mean(x[0], 1); });
    c.add("mean_empty_axis0", {c.normal({0, 3})}, [](V x) { return mean(x[0], 0); });

    c.add("max_all_ties", {c.integers({3, 4})}, [](V x) { return max(x[0]); });
    c.add("max_axis1_ties_keepdims", {c.integers({4, 5})}, [](V x) { return max(x[0], 1, true); });
    c.add("max_axis_neg1_4d", {c.normal({2, 3, 2, 4})}, [](V x) { return max(x[0], -1); });
    c.add("max_axis0_nan", {Cases::values({3, 2}, {1, 2, qnan, 0, 3, 1})}, [](V x) { return max(x[0], 0); });
    c.add("max_f32", {c.integers({3, 4}, f32)}, [](V x) { return max(x[0], 0); });
    c.add("max_method_all", {c.normal({2, 3, 4})}, [](V x) { return x[0].max(); });
    c.add("max_method_axis", {c.integers({3, 4})}, [](V x) { return x[0].max(0, true); });
    c.add("max_big_ties_axis1", {c.integers({9, 301})}, [](V x) { return max(x[0], 1); });
    c.add("max_empty_rows", {c.normal({0, 3})}, [](V x) { return max(x[0], 1); });
    c.add("min_all_ties", {c.integers({3, 4})}, [](V x) { return min(x[0]); });
    c.add("min_axis0_ties", {c.integers({4, 5})}, [](V x) { return min(x[0], 0); });
    c.add("min_axis1_3d_keepdims", {c.normal({2, 3, 4})}, [](V x) { return min(x[0], 1, true); });
    c.add("min_axis1_nan", {Cases::values({2, 3}, {1, qnan, -1, 0, 2, 1})}, [](V x) { return min(x[0], 1); });
    c.add("min_method_all", {c.normal({4})}, [](V x) { return x[0].min(); });
    c.add("min_method_axis", {c.integers({3, 4})}, [](V x) { return x[0].min(-1); });

    // numpy's argmax/argmin pick the first of tied extremes, and the first NaN.
    c.add("argmax_ties_axis0", {c.integers({5, 6})}, [](V x) { return argmax(x[0], 0); });
    c.add("argmax_ties_axis_neg1_keepdims_3d", {c.integers({2, 3, 5})},
          [](V x) { return argmax(x[0], -1, true); });
    c.add("argmax_nan", {Cases::values({2, 4}, {1, qnan, 3, qnan, 2, 2, 0, 2})},
          [](V x) { return argmax(x[0], 1); });
    c.add("argmax_f32", {c.integers({4, 3}, f32)}, [](V x) { return argmax(x[0], 1); });
    c.add("argmax_method", {c.integers({3, 4})}, [](V x) { return x[0].argmax(1); });
    c.add("argmax_big_ties_axis0", {c.integers({301, 9})}, [](V x) { return argmax(x[0], 0); });
    c.add("argmin_ties_axis1", {c.integers({5, 6})}, [](V x) { return argmin(x[0], 1); });
    c.add("argmin_ties_axis0_4d", {c.integers({3, 2, 2, 3})}, [](V x) { return argmin(x[0], 0); });
    c.add("argmin_nan", {Cases::values({3, 2}, {1, 0, qnan, 0, -1, qnan})},
          [](V x) { return argmin(x[0], 0); });
    c.add("argmin_method_keepdims", {c.integers({3, 4})}, [](V x) { return x[0].argmin(0, true); });
    c.add("argmin_big_ties_axis1", {c.integers({5, 301})}, [](V x) { return argmin(x[0], -1); });

    c.add("logsumexp_axis0", {c.normal({4, 3})}, [](V x) { return logsumexp(x[0], 0); });
    // Row 0 is around 1000 (exp overflows unless the max is subtracted), row 2 around -1000.
    c.add("logsumexp_large_values",
          {Cases::values({3, 3}, {1000, 1000, 999, 1, 2, 3, -1000, -1001, -1000.5})},
          [](V x) { return logsumexp(x[0], 1); });
    c.add("logsumexp_neg_inf_row", {Cases::values({2, 3}, {-inf, -inf, -inf, 0.5, -inf, 1})},
          [](V x) { return logsumexp(x[0], -1); });
    c.add("logsumexp_keepdims_3d", {c.normal({2, 3, 4}, 5)}, [](V x) { return logsumexp(x[0], -2, true); });
    c.add("logsumexp_f32", {c.normal({3, 5}, 3, f32)}, [](V x) { return logsumexp(x[0], 1); });
    c.add("logsumexp_big_axis0", {c.normal({300, 5}, 4)}, [](V x) { return logsumexp(x[0], 0); });
    c.add("logsumexp_empty_axis", {c.normal({0, 3})}, [](V x) { return logsumexp(x[0], 0); });

    c.add("var_ddof0_axis1", {c.normal({3, 5})}, [](V x) { return var(x[0], 1); });
    c.add("var_ddof1_axis0_keepdims", {c.normal({4, 3})}, [](V x) { return var(x[0], 0, true, 1); });
    c.add("var_ddof1_axis_neg1_3d", {c.normal({2, 3, 4}, 10)}, [](V x) { return var(x[0], -1, false, 1); });
    c.add("var_offset_values", {c.uniform({2, 6}, 1000, 1001)}, [](V x) { return var(x[0], 1); });
    c.add("var_f32", {c.normal({4, 5}, 1, f32)}, [](V x) { return var(x[0], 0, false, 1); });
    c.add("var_big_axis0", {c.normal({500, 3}, 2)}, [](V x) { return var(x[0], 0, false, 1); });
}

void elementwise_cases(Cases& c) {
    c.add("abs_3d", {c.normal({2, 3, 4})}, [](V x) { return abs(x[0]); });
    c.add("abs_f32_with_zeros", {c.integers({8}, f32)}, [](V x) { return abs(x[0]); });
    c.add("sign_with_zeros", {c.integers({4, 5})}, [](V x) { return sign(x[0]); });
    c.add("sign_f32", {Cases::values({5}, {-0.0, 0.0, 1e-30, -2.5, 3}, f32)}, [](V x) { return sign(x[0]); });
    c.add("clamp_ties_at_bounds", {c.integers({4, 5})}, [](V x) { return clamp(x[0], -1, 2); });
    c.add("clamp_fractional_bounds", {c.normal({3, 4})}, [](V x) { return clamp(x[0], -0.5, 0.25); });
    c.add("clamp_equal_bounds", {c.normal({5})}, [](V x) { return clamp(x[0], 0.5, 0.5); });
    c.add("clamp_f32", {c.normal({3, 4}, 1, f32)}, [](V x) { return clamp(x[0], -0.3, 0.7); });

    auto larger = [](V x) { return maximum(x[0], x[1]); };
    auto smaller = [](V x) { return minimum(x[0], x[1]); };
    c.add("maximum_ties_broadcast", {c.integers({3, 1}), c.integers({4})}, larger);
    c.add("maximum_ties_same_shape", {c.integers({4, 5}), c.integers({4, 5})}, larger);
    c.add("maximum_broadcast_3d", {c.normal({2, 1, 4}), c.normal({3, 1})}, larger);
    c.add("maximum_nan", {Cases::values({3}, {qnan, 1, 2}), Cases::values({3}, {0, qnan, 3})}, larger);
    c.add("maximum_f32", {c.integers({5}, f32), c.integers({5}, f32)}, larger);
    c.add("minimum_ties_broadcast", {c.integers({3, 1}), c.integers({4})}, smaller);
    c.add("minimum_broadcast_4d", {c.normal({2, 1, 3, 1}), c.normal({4, 1, 2})}, smaller);
    c.add("minimum_nan", {Cases::values({3}, {qnan, 1, 2}), Cases::values({3}, {0, qnan, 3})}, smaller);

    auto choose = [](V x) { return where(x[0], x[1], x[2]); };
    c.add("where_3way_broadcast", {c.labels({3, 1, 1}, 2).astype(f64), c.normal({1, 4, 1}), c.normal({5})},
          choose);
    c.add("where_int64_cond", {c.labels({2, 3}, 3, true), c.normal({2, 3}), c.normal({2, 1})}, choose);
    c.add("where_comparison_mask", {c.normal({3, 4}), c.normal({4})},
          [](V x) { return where(greater(x[0], x[1]), x[0], x[1]); });
    c.add("where_f32", {c.integers({4}, f32), c.normal({4}, 1, f32), c.normal({}, 1, f32)}, choose);
    c.add("where_f32_cond_f64_values", {c.integers({2, 3}, f32), c.normal({2, 3}), c.normal({3})}, choose);

    // Masks: in the inputs' float dtype, float64 for int64 inputs.
    c.add("equal_ties_broadcast", {c.integers({3, 1}), c.integers({4})},
          [](V x) { return equal(x[0], x[1]); });
    c.add("equal_int64", {c.labels({3, 4}, 3), c.labels({4}, 3)}, [](V x) { return equal(x[0], x[1]); });
    c.add("equal_f32", {c.integers({6}, f32), c.integers({6}, f32)}, [](V x) { return equal(x[0], x[1]); });
    c.add("equal_operator", {c.integers({2, 3}), c.integers({2, 3})}, [](V x) { return x[0] == x[1]; });
    c.add("equal_argmax_accuracy", {c.integers({3, 5}), c.labels({5}, 3)},
          [](V x) { return mean(equal(argmax(x[0], 0), x[1])); });
    c.add("less_ties_broadcast_3d", {c.integers({2, 1, 3}), c.integers({4, 1})},
          [](V x) { return less(x[0], x[1]); });
    c.add("less_int64", {c.labels({3, 4}, 4), c.labels({3, 1}, 4)}, [](V x) { return less(x[0], x[1]); });
    c.add("less_f32", {c.integers({6}, f32), c.integers({6}, f32)}, [](V x) { return less(x[0], x[1]); });
    c.add("less_operator", {c.integers({2, 3}), c.integers({3})}, [](V x) { return x[0] < x[1]; });
    c.add("greater_ties_broadcast", {c.integers({3, 1}), c.integers({4})},
          [](V x) { return greater(x[0], x[1]); });
    c.add("greater_int64_0d", {c.labels({5}, 4), c.labels({}, 4)}, [](V x) { return greater(x[0], x[1]); });
    c.add("greater_operator", {c.integers({2, 3}), c.integers({2, 1})}, [](V x) { return x[0] > x[1]; });
}

void activation_cases(Cases& c) {
    c.add("exp_3d", {c.normal({2, 3, 4})}, [](V x) { return exp(x[0]); });
    c.add("exp_wide", {c.uniform({20}, -30, 30)}, [](V x) { return exp(x[0]); });
    c.add("exp_f32", {c.normal({3, 4}, 1, f32)}, [](V x) { return exp(x[0]); });
    c.add("exp_big_odd", {c.normal({1003}, 3)}, [](V x) { return exp(x[0]); });
    c.add("log_positive", {c.uniform({3, 4}, 0.01, 10)}, [](V x) { return log(x[0]); });
    c.add("log_f32", {c.uniform({6}, 0.1, 5, f32)}, [](V x) { return log(x[0]); });
    c.add("sqrt_with_zero", {Cases::values({5}, {0, 0.25, 2, 9, 1e-8})}, [](V x) { return sqrt(x[0]); });
    c.add("sqrt_3d", {c.uniform({2, 3, 2}, 0, 4)}, [](V x) { return sqrt(x[0]); });
    c.add("sqrt_f32", {c.uniform({5}, 0, 4, f32)}, [](V x) { return sqrt(x[0]); });
    c.add("square_3d", {c.normal({2, 3, 4})}, [](V x) { return square(x[0]); });
    c.add("square_f32", {c.normal({5}, 1, f32)}, [](V x) { return square(x[0]); });
    c.add("pow_cube", {c.normal({3, 4})}, [](V x) { return pow(x[0], 3); });
    c.add("pow_half", {c.uniform({3, 4}, 0, 5)}, [](V x) { return pow(x[0], 0.5); });
    c.add("pow_negative_exponent", {c.uniform({6}, 0.5, 3)}, [](V x) { return pow(x[0], -2); });
    c.add("pow_fractional", {c.uniform({2, 3}, 0.1, 4)}, [](V x) { return pow(x[0], 1.7); });
    c.add("pow_zero_exponent", {c.normal({4})}, [](V x) { return pow(x[0], 0); });
    c.add("pow_f32", {c.uniform({5}, 0.5, 2, f32)}, [](V x) { return pow(x[0], 2.5); });
    c.add("relu_with_zeros", {c.integers({4, 5})}, [](V x) { return relu(x[0]); });
    c.add("relu_f32", {c.normal({2, 3}, 1, f32)}, [](V x) { return relu(x[0]); });
    // The course's np.maximum(0, Z): NaN stays NaN (checked exactly). Not −0: numpy's own answer for it
    // depends on its loop (its SIMD max returns −0, its scalar one +0); xgrad gives +0 (test_ops.cpp).
    c.add("relu_nan_inf", {Cases::values({6}, {qnan, 0.0, -inf, inf, -1, 2})}, [](V x) { return relu(x[0]); });
    c.add("relu_nan_f32", {Cases::values({4}, {qnan, -inf, inf, 0.5}, f32)}, [](V x) { return relu(x[0]); });
    c.add("sigmoid_wide", {c.uniform({4, 5}, -30, 30)}, [](V x) { return sigmoid(x[0]); });
    c.add("sigmoid_f32", {c.normal({6}, 3, f32)}, [](V x) { return sigmoid(x[0]); });
    c.add("sigmoid_big_f32", {c.uniform({1003}, -20, 20, f32)}, [](V x) { return sigmoid(x[0]); });
    c.add("tanh_wide", {c.uniform({4, 5}, -30, 30)}, [](V x) { return tanh(x[0]); });
    c.add("tanh_f32", {c.normal({6}, 1, f32)}, [](V x) { return tanh(x[0]); });

    const Tensor large = Cases::values({2, 3}, {1000, 999, 1000, -1000, -1001, -999});
    c.add("softmax_axis0_default", {c.normal({4, 3})}, [](V x) { return softmax(x[0]); });
    c.add("softmax_axis_neg1_3d", {c.normal({2, 3, 4}, 3)}, [](V x) { return softmax(x[0], -1); });
    c.add("softmax_large_values", {large}, [](V x) { return softmax(x[0], 1); });
    c.add("softmax_f32", {c.normal({3, 4}, 2, f32)}, [](V x) { return softmax(x[0], 1); });
    c.add("softmax_big_axis0", {c.normal({130, 7}, 3)}, [](V x) { return softmax(x[0], 0); });
    c.add("softmax_empty", {c.normal({0, 3})}, [](V x) { return softmax(x[0], 0); });
    c.add("log_softmax_axis0_default", {c.normal({4, 3})}, [](V x) { return log_softmax(x[0]); });
    c.add("log_softmax_axis1_3d", {c.normal({2, 3, 4}, 3)}, [](V x) { return log_softmax(x[0], 1); });
    c.add("log_softmax_large_values", {large}, [](V x) { return log_softmax(x[0], -1); });
    c.add("log_softmax_f32", {c.normal({3, 4}, 2, f32)}, [](V x) { return log_softmax(x[0], 0); });

    // The smooth activations over ±30, where naive formulas overflow or lose everything.
    c.add("leaky_relu_default_wide", {c.uniform({4, 5}, -30, 30)}, [](V x) { return leaky_relu(x[0]); });
    c.add("leaky_relu_slope_with_zeros", {c.integers({8})}, [](V x) { return leaky_relu(x[0], 0.2); });
    c.add("leaky_relu_f32", {c.normal({6}, 1, f32)}, [](V x) { return leaky_relu(x[0], 0.1); });
    c.add("elu_wide", {c.uniform({4, 5}, -30, 30)}, [](V x) { return elu(x[0]); });
    c.add("elu_alpha_small_values", {c.normal({8}, 1e-3)}, [](V x) { return elu(x[0], 0.5); });
    c.add("elu_f32", {c.normal({6}, 2, f32)}, [](V x) { return elu(x[0], 1.5); });
    c.add("gelu_wide", {c.uniform({4, 5}, -30, 30)}, [](V x) { return gelu(x[0]); });
    c.add("gelu_near_zero", {c.normal({3, 4})}, [](V x) { return gelu(x[0]); });
    c.add("gelu_f32", {c.normal({6}, 2, f32)}, [](V x) { return gelu(x[0]); });
    c.add("gelu_big", {c.normal({1003}, 3)}, [](V x) { return gelu(x[0]); });
    c.add("silu_wide", {c.uniform({4, 5}, -30, 30)}, [](V x) { return silu(x[0]); });
    c.add("silu_f32", {c.normal({6}, 2, f32)}, [](V x) { return silu(x[0]); });
    c.add("softplus_wide", {c.uniform({4, 5}, -30, 30)}, [](V x) { return softplus(x[0]); });
    c.add("softplus_extreme", {Cases::values({6}, {-800, -40, 1e-20, 0, 40, 800})},
          [](V x) { return softplus(x[0]); });
    c.add("softplus_f32", {c.normal({6}, 3, f32)}, [](V x) { return softplus(x[0]); });
    c.add("log_sigmoid_wide", {c.uniform({4, 5}, -30, 30)}, [](V x) { return log_sigmoid(x[0]); });
    c.add("log_sigmoid_extreme", {Cases::values({5}, {-800, -40, 0, 40, 800})},
          [](V x) { return log_sigmoid(x[0]); });
}

void loss_cases(Cases& c) {
    auto bce = [](V x) { return binary_cross_entropy(x[0], x[1]); };
    auto bce_logits = [](V x) { return binary_cross_entropy_with_logits(x[0], x[1]); };
    c.add("binary_cross_entropy_hard_labels",
          {c.uniform({3, 4}, 0.01, 0.99), c.labels({3, 4}, 2).astype(f64)}, bce);
    c.add("binary_cross_entropy_soft_labels", {c.uniform({5}, 0.01, 0.99), c.uniform({5}, 0, 1)}, bce);
    // p exactly 0 or 1 where the label agrees: the zero-weight log term is skipped, not 0·(-inf).
    c.add("binary_cross_entropy_saturated",
          {Cases::values({4}, {0, 1, 0.3, 1}), Cases::values({4}, {0, 1, 1, 1})}, bce);
    c.add("binary_cross_entropy_f32", {c.uniform({2, 3}, 0.05, 0.95, f32), c.labels({2, 3}, 2).astype(f32)},
          bce);
    c.add("binary_cross_entropy_with_logits_wide",
          {c.uniform({4, 5}, -30, 30), c.labels({4, 5}, 2).astype(f64)}, bce_logits);
    c.add("binary_cross_entropy_with_logits_soft", {c.normal({2, 3, 2}, 2), c.uniform({2, 3, 2}, 0, 1)},
          bce_logits);
    c.add("binary_cross_entropy_with_logits_f32", {c.normal({6}, 2, f32), c.labels({6}, 2).astype(f32)},
          bce_logits);

    c.add("softmax_cross_entropy_axis0_one_hot", {c.normal({4, 6}), transpose(one_hot(c.labels({6}, 4), 4))},
          [](V x) { return softmax_cross_entropy(x[0], x[1]); });
    c.add("softmax_cross_entropy_axis1_probabilities", {c.normal({5, 3}), softmax(c.normal({5, 3}), 1)},
          [](V x) { return softmax_cross_entropy(x[0], x[1], 1); });
    c.add("softmax_cross_entropy_axis_neg1_3d", {c.normal({2, 3, 4}, 3), one_hot(c.labels({2, 3}, 4), 4)},
          [](V x) { return softmax_cross_entropy(x[0], x[1], -1); });
    c.add("softmax_cross_entropy_f32", {c.normal({3, 4}, 1, f32), one_hot(c.labels({4}, 3), 3, f32).t()},
          [](V x) { return softmax_cross_entropy(x[0], x[1], 0); });
    c.add("sum_of_squares_3d", {c.normal({2, 3, 4})}, [](V x) { return sum_of_squares(x[0]); });
    c.add("sum_of_squares_f32", {c.normal({5}, 1, f32)}, [](V x) { return sum_of_squares(x[0]); });

    // Each reduction: mean, sum and none.
    const std::vector<std::pair<std::string, Reduction>> reductions = {
        {"mean", Reduction::mean}, {"sum", Reduction::sum}, {"none", Reduction::none}};
    for (const auto& entry : reductions) {
        const std::string& how = entry.first;
        const Reduction reduction = entry.second;
        c.add("mse_loss_" + how, {c.normal({3, 4}), c.normal({3, 4})},
              [=](V x) { return mse_loss(x[0], x[1], reduction); });
        c.add("l1_loss_" + how, {c.normal({2, 3, 2}), c.normal({2, 3, 2})},
              [=](V x) { return l1_loss(x[0], x[1], reduction); });
        // d = pred - target spread over ±3: values on both sides of delta.
        c.add("huber_loss_both_sides_" + how, {c.uniform({4, 5}, -3, 3), constant(Array::zeros({4, 5}))},
              [=](V x) { return huber_loss(x[0], x[1], 1.0, reduction); });
        // Classes on axis 1 of (N, C) and of (N, C, d), and on axis 0 of (C, m).
        c.add("nll_loss_nc_" + how, {log_softmax(c.normal({5, 4}), 1), c.labels({5}, 4)},
              [=](V x) { return nll_loss(x[0], x[1], 1, reduction); });
        c.add("nll_loss_ncd_" + how, {log_softmax(c.normal({2, 4, 3}), 1), c.labels({2, 3}, 4)},
              [=](V x) { return nll_loss(x[0], x[1], 1, reduction); });
        c.add("nll_loss_cm_" + how, {log_softmax(c.normal({3, 6}), 0), c.labels({6}, 3)},
              [=](V x) { return nll_loss(x[0], x[1], 0, reduction); });
        auto smoothed = [=](int axis) {
            return [=](V x) {
                return cross_entropy(x[0], x[1],
                                     {.axis = axis, .reduction = reduction, .label_smoothing = 0.1});
            };
        };
        c.add("cross_entropy_nc_smooth_" + how, {c.normal({5, 4}, 2), c.labels({5}, 4)}, smoothed(1));
        c.add("cross_entropy_ncd_smooth_" + how, {c.normal({2, 4, 3}, 2), c.labels({2, 3}, 4)}, smoothed(1));
        c.add("cross_entropy_cm_smooth_" + how, {c.normal({3, 6}, 2), c.labels({6}, 3)}, smoothed(0));
    }
    c.add("mse_loss_f32", {c.normal({6}, 1, f32), c.normal({6}, 1, f32)},
          [](V x) { return mse_loss(x[0], x[1]); });
    c.add("l1_loss_f32", {c.normal({6}, 1, f32), c.normal({6}, 1, f32)},
          [](V x) { return l1_loss(x[0], x[1]); });
    c.add("huber_loss_delta_half_3d", {c.normal({2, 3, 4}), c.normal({2, 3, 4})},
          [](V x) { return huber_loss(x[0], x[1], 0.5); });
    c.add("nll_loss_negative_axis", {log_softmax(c.normal({3, 5}), -1), c.labels({3}, 5)},
          [](V x) { return nll_loss(x[0], x[1], -1); });
    c.add("cross_entropy_nc_default", {c.normal({6, 3}), c.labels({6}, 3)},
          [](V x) { return cross_entropy(x[0], x[1]); });
    c.add("cross_entropy_cm_axis_overload", {c.normal({3, 6}), c.labels({6}, 3)},
          [](V x) { return cross_entropy(x[0], x[1], 0); });
    c.add("cross_entropy_large_logits",
          {Cases::values({2, 3}, {1000, 990, 1000, -1000, 0, -999}), Cases::values({2}, {1, 2}, i64)},
          [](V x) { return cross_entropy(x[0], x[1]); });
    c.add("cross_entropy_f32_smooth", {c.normal({4, 5}, 2, f32), c.labels({4}, 5)},
          [](V x) { return cross_entropy(x[0], x[1], {.label_smoothing = 0.2}); });
    const CrossEntropyOptions sum_smoothed{.axis = 1, .reduction = Reduction::sum, .label_smoothing = 0.05};
    c.add("cross_entropy_big_ncd_smooth_sum", {c.normal({8, 10, 13}, 2), c.labels({8, 13}, 10)},
          [=](V x) { return cross_entropy(x[0], x[1], sum_smoothed); });
}

void conv_cases(Cases& c) {
    c.add("conv2d_pad1_bias", {c.normal({2, 3, 5, 5}), c.normal({4, 3, 3, 3}), c.normal({4})},
          [](V x) { return conv2d(x[0], x[1], x[2], 1, 1); });
    c.add("conv2d_stride_2x1_pad_1x0", {c.normal({1, 2, 7, 6}), c.normal({3, 2, 3, 2}), c.normal({3})},
          [](V x) { return conv2d(x[0], x[1], x[2], {2, 1}, {1, 0}); });
    c.add("conv2d_dilation2_no_bias", {c.normal({1, 2, 7, 7}), c.normal({2, 2, 3, 3})},
          [](V x) { return conv2d(x[0], x[1], {}, 1, 2, 2); });
    c.add("conv2d_groups2_stride2", {c.normal({2, 4, 5, 5}), c.normal({6, 2, 3, 3}), c.normal({6})},
          [](V x) { return conv2d(x[0], x[1], x[2], 2, 1, 1, 2); });
    c.add("conv2d_depthwise", {c.normal({1, 3, 4, 4}), c.normal({3, 1, 2, 2})},
          [](V x) { return conv2d(x[0], x[1], {}, 1, 0, 1, 3); });
    c.add("conv2d_1x1", {c.normal({2, 3, 4, 4}), c.normal({5, 3, 1, 1}), c.normal({5})},
          [](V x) { return conv2d(x[0], x[1], x[2]); });
    c.add("conv2d_1x1_stride2_pad1", {c.normal({2, 3, 5, 4}), c.normal({2, 3, 1, 1})},
          [](V x) { return conv2d(x[0], x[1], {}, 2, 1); });
    // stride 1 with the output the input's size: im2col copies each tap's plane as one shifted block
    c.add("conv2d_same_rect_kernel", {c.normal({2, 3, 6, 5}), c.normal({4, 3, 3, 5}), c.normal({4})},
          [](V x) { return conv2d(x[0], x[1], x[2], 1, {1, 2}); });
    c.add("conv2d_same_kernel_past_plane", {c.normal({2, 2, 2, 3}), c.normal({3, 2, 5, 7})},
          [](V x) { return conv2d(x[0], x[1], {}, 1, {2, 3}); });
    c.add("conv2d_big_rect", {c.normal({2, 5, 17, 13}), c.normal({7, 5, 3, 4}), c.normal({7})},
          [](V x) { return conv2d(x[0], x[1], x[2], 2, {1, 2}, {1, 2}); });
    c.add("conv2d_f32",
          {c.normal({2, 2, 4, 5}, 1, f32), c.normal({3, 2, 2, 2}, 1, f32), c.normal({3}, 1, f32)},
          [](V x) { return conv2d(x[0], x[1], x[2], 1, 1); });
    c.add("conv2d_relu_pad1_bias", {c.normal({2, 3, 5, 5}), c.normal({4, 3, 3, 3}), c.normal({4})},
          [](V x) { return conv2d_relu(x[0], x[1], x[2], 1, 1); });
    c.add("conv2d_relu_1x1_groups2", {c.normal({2, 4, 3, 5}), c.normal({6, 2, 1, 1}), c.normal({6})},
          [](V x) { return conv2d_relu(x[0], x[1], x[2], 1, 0, 1, 2); });
    c.add("conv2d_relu_f32_stride2_no_bias", {c.normal({2, 2, 6, 5}, 1, f32), c.normal({3, 2, 3, 3}, 1, f32)},
          [](V x) { return conv2d_relu(x[0], x[1], {}, 2, 1); });
    c.add("conv1d_stride2_pad1", {c.normal({2, 3, 9}), c.normal({4, 3, 3}), c.normal({4})},
          [](V x) { return conv1d(x[0], x[1], x[2], 2, 1); });
    c.add("conv1d_dilation2_groups2", {c.normal({1, 4, 10}), c.normal({6, 2, 3})},
          [](V x) { return conv1d(x[0], x[1], {}, 1, 0, 2, 2); });
    c.add("conv1d_f32", {c.normal({2, 2, 7}, 1, f32), c.normal({3, 2, 2}, 1, f32)},
          [](V x) { return conv1d(x[0], x[1], {}, 1, 1); });

    c.add("max_pool2d_k2_odd", {c.normal({2, 2, 5, 5})}, [](V x) { return max_pool2d(x[0], 2); });
    c.add("max_pool2d_k3_s2_pad1", {c.normal({1, 2, 6, 5})},
          [](V x) { return max_pool2d(x[0], 3, Size2{2}, 1); });
    c.add("max_pool2d_ties_rect", {c.integers({1, 2, 4, 6})},
          [](V x) { return max_pool2d(x[0], {2, 3}, Size2{2, 1}); });
    // All values negative: a zero padding would win where a -inf padding must not.
    c.add("max_pool2d_negative_values_pad1", {c.uniform({1, 2, 4, 4}, -5, -1)},
          [](V x) { return max_pool2d(x[0], 2, Size2{1}, 1); });
    c.add("max_pool2d_f32", {c.normal({1, 3, 4, 4}, 1, f32)}, [](V x) { return max_pool2d(x[0], 2); });
    c.add("avg_pool2d_k2", {c.normal({2, 2, 4, 6})}, [](V x) { return avg_pool2d(x[0], 2); });
    c.add("avg_pool2d_k3_s2_pad1", {c.normal({1, 2, 5, 5})},
          [](V x) { return avg_pool2d(x[0], 3, Size2{2}, 1); });
    c.add("avg_pool2d_rect_pad", {c.normal({2, 1, 5, 6})},
          [](V x) { return avg_pool2d(x[0], {2, 3}, Size2{1, 2}, {1, 1}); });
    c.add("avg_pool2d_f32", {c.normal({1, 2, 4, 4}, 1, f32)}, [](V x) { return avg_pool2d(x[0], 2); });
    c.add("adaptive_avg_pool2d_5x7_to_3x2", {c.normal({2, 2, 5, 7})},
          [](V x) { return adaptive_avg_pool2d(x[0], {3, 2}); });
    c.add("adaptive_avg_pool2d_global", {c.normal({2, 3, 4, 5})},
          [](V x) { return adaptive_avg_pool2d(x[0], 1); });
    c.add("adaptive_avg_pool2d_upsample", {c.normal({1, 2, 3, 2})},
          [](V x) { return adaptive_avg_pool2d(x[0], {5, 3}); });
    c.add("adaptive_avg_pool2d_f32", {c.normal({1, 2, 6, 6}, 1, f32)},
          [](V x) { return adaptive_avg_pool2d(x[0], 4); });
}

/// batch_norm on inputs (x, running mean, running var, weight, bias), returning y and the running
/// statistics after the call; it updates copies, so the recorded inputs keep their values.
std::function<Outputs(V)> batch_norm_with_running(bool training, double momentum = 0.1, double eps = 1e-5) {
    return [=](V x) {
        Tensor mean = constant(x[1].value()), var = constant(x[2].value());
        Tensor y = batch_norm(x[0], mean, var, x[3], x[4], training, momentum, eps);
        return std::vector<Tensor>{y, mean, var};
    };
}

void normalization_cases(Cases& c) {
    auto channels = [&](std::size_t n, DType dtype = f64) {  // running mean and var, weight, bias
        return std::vector<Tensor>{c.normal({n}, 1, dtype), c.uniform({n}, 0.5, 2, dtype),
                                   c.normal({n}, 1, dtype), c.normal({n}, 1, dtype)};
    };
    auto with = [](Tensor x, std::vector<Tensor> rest) {
        rest.insert(rest.begin(), std::move(x));
        return rest;
    };
    c.add("batch_norm_nc_training", with(c.normal({5, 3}, 2), channels(3)), batch_norm_with_running(true));
    c.add("batch_norm_nchw_training_momentum", with(c.normal({2, 3, 2, 2}), channels(3)),
          batch_norm_with_running(true, 0.3, 1e-3));
    c.add("batch_norm_no_affine_no_running", {c.normal({4, 2, 3})},
          [](V x) { return batch_norm(x[0], {}, {}, {}, {}, true); });
    c.add("batch_norm_evaluation", with(c.normal({4, 3}), channels(3)), batch_norm_with_running(false));
    c.add("batch_norm_big_offset_values", with(c.uniform({16, 5, 7, 3}, 1000, 1001), channels(5)),
          batch_norm_with_running(true));
    c.add("batch_norm_f32", with(c.normal({6, 4}, 1, f32), channels(4, f32)), batch_norm_with_running(true));
    c.add("layer_norm_last_axis", {c.normal({2, 3, 4}), c.normal({4}), c.normal({4})},
          [](V x) { return layer_norm(x[0], {4}, x[1], x[2]); });
    c.add("layer_norm_two_axes", {c.normal({2, 3, 4}), c.normal({3, 4}), c.normal({3, 4})},
          [](V x) { return layer_norm(x[0], {3, 4}, x[1], x[2]); });
    c.add("layer_norm_no_affine", {c.normal({3, 5})}, [](V x) { return layer_norm(x[0], {5}); });
    c.add("layer_norm_large_eps", {c.normal({4, 6}, 0.1)},
          [](V x) { return layer_norm(x[0], {6}, {}, {}, 0.1); });
    c.add("layer_norm_offset_values", {c.uniform({3, 8}, 1000, 1001)},
          [](V x) { return layer_norm(x[0], {8}); });
    c.add("layer_norm_f32", {c.normal({3, 4}, 1, f32), c.normal({4}, 1, f32), c.normal({4}, 1, f32)},
          [](V x) { return layer_norm(x[0], {4}, x[1], x[2]); });
    // lstm_cell: saturated gates too (pre-activations up to ±40)
    c.add("lstm_cell", {c.normal({3, 8}), c.normal({3, 2})}, [](V x) { return lstm_cell(x[0], x[1]); });
    c.add("lstm_cell_saturated", {c.uniform({2, 12}, -40, 40), c.normal({2, 3}, 3)},
          [](V x) { return lstm_cell(x[0], x[1]); });
    c.add("lstm_cell_f32", {c.normal({4, 16}, 1, f32), c.normal({4, 4}, 1, f32)},
          [](V x) { return lstm_cell(x[0], x[1]); });
    // lstm_layer: inputs x, h0, c0, weight_ih, weight_hh[, bias_ih, bias_hh][, mask]; outputs the
    // sequence, h_T and c_T. T = 4, N = 3, in = 5, H = 2 (f32: N = 2, T = 6, in = 3, H = 4).
    auto sequence = [](const LstmSequence& s) { return std::vector<Tensor>{s.output, s.h, s.c}; };
    c.add("lstm_layer",
          {c.normal({4, 3, 5}), c.normal({3, 2}), c.normal({3, 2}), c.normal({8, 5}), c.normal({8, 2}), c.normal({8}),
           c.normal({8}), c.uniform({3, 2}, 0, 2)},
          [&](V x) { return sequence(lstm_layer(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7])); });
    c.add("lstm_layer_batch_first_no_bias",
          {c.normal({3, 4, 5}), c.normal({3, 2}), c.normal({3, 2}), c.normal({8, 5}), c.normal({8, 2})},
          [&](V x) { return sequence(lstm_layer(x[0], x[1], x[2], x[3], x[4], {}, {}, {}, true)); });
    c.add("lstm_layer_f32",
          {c.normal({2, 6, 3}, 1, f32), c.normal({2, 4}, 1, f32), c.normal({2, 4}, 1, f32), c.normal({16, 3}, 1, f32),
           c.normal({16, 4}, 1, f32), c.normal({16}, 1, f32), c.normal({16}, 1, f32)},
          [&](V x) { return sequence(lstm_layer(x[0], x[1], x[2], x[3], x[4], x[5], x[6], {}, true)); });
}

/// Dropout's mask comes from its own generator seeded `seed`: numpy's RandomState(seed).rand(shape).
void dropout_cases(Cases& c) {
    struct Setting {
        const char* name;
        std::uint64_t seed;
        DropoutOptions options;
        DType dtype;
        Shape shape;
        Tensor (*op)(const Tensor&, const DropoutOptions&) = dropout;
    };
    const auto measured = DropoutScale::measured, per_example = DropoutScale::per_example,
               classic = DropoutScale::classic;
    const Shape small = {4, 6}, big = {37, 29};  // big: a mask of many 64-bit words, the last partial
    const std::vector<Setting> settings = {
        {"dropout_constant_keep_0_8", 1, {.keep_prob = 0.8}, f64, small},
        {"dropout_constant_keep_0_5", 2, {.keep_prob = 0.5}, f64, small},
        {"dropout_measured", 3, {.keep_prob = 0.7, .scale = measured}, f64, small},
        {"dropout_per_example", 4, {.keep_prob = 0.6, .scale = per_example, .example_axis = 1}, f64, small},
        {"dropout_classic_training", 5, {.keep_prob = 0.75, .scale = classic}, f64, small},
        {"dropout_classic_evaluation", 6, {.keep_prob = 0.75, .scale = classic, .training = false}, f64,
         small},
        {"dropout_constant_evaluation", 7, {.keep_prob = 0.75, .training = false}, f64, small},
        {"dropout_constant_f32", 8, {.keep_prob = 0.9}, f32, small},
        {"dropout_big_constant", 9, {.keep_prob = 0.8}, f64, big},
        {"dropout_big_per_example", 10, {.keep_prob = 0.3, .scale = per_example, .example_axis = 1}, f64,
         big},
        {"dropout_big_measured_f32_keep_0_25", 11, {.keep_prob = 0.25, .scale = measured}, f32, big},
        {"dropout_big_constant_f32_keep_0_25", 12, {.keep_prob = 0.25}, f32, big},
        // dropout2d: one bit per channel map of (N, C, …); per-example counts along the batch axis.
        {"dropout2d_constant", 21, {.keep_prob = 0.6}, f64, {2, 3, 2, 2}, dropout2d},
        {"dropout2d_per_example", 22, {.keep_prob = 0.6, .scale = per_example}, f64, {2, 4, 3}, dropout2d},
        {"dropout2d_measured", 23, {.keep_prob = 0.5, .scale = measured}, f64, {3, 4, 2, 2}, dropout2d},
        {"dropout2d_classic_training", 24, {.keep_prob = 0.7, .scale = classic}, f64, {2, 3, 2}, dropout2d},
        {"dropout2d_classic_evaluation", 25, {.keep_prob = 0.7, .scale = classic, .training = false}, f64,
         {2, 3, 2}, dropout2d},
        {"dropout2d_big_f32", 26, {.keep_prob = 0.8}, f32, {8, 20, 3, 3}, dropout2d},
    };
    for (const Setting& s : settings)
        c.add(s.name, {c.normal(s.shape, 1, s.dtype)}, [s](V x) {
            Generator g(s.seed);
            DropoutOptions options = s.options;
            options.generator = &g;
            return s.op(x[0], options);
        });
    // linear_relu_dropout: x, W, b in either layout; the mask is drawn over the linear output's shape.
    struct Fused {
        const char* name;
        std::uint64_t seed;
        DropoutOptions options;
        Layout layout;
        DType dtype;
    };
    for (const Fused& f : std::vector<Fused>{
             {"linear_relu_dropout_features_first", 31, {.keep_prob = 0.7}, Layout::features_first, f64},
             {"linear_relu_dropout_batch_first_measured", 32, {.keep_prob = 0.6, .scale = measured},
              Layout::batch_first, f64},
             {"linear_relu_dropout_per_example", 33, {.keep_prob = 0.5, .scale = per_example, .example_axis = 1},
              Layout::features_first, f64},
             {"linear_relu_dropout_batch_first_f32", 34, {.keep_prob = 0.8}, Layout::batch_first, f32}}) {
        const bool batch_first = f.layout == Layout::batch_first;
        // features_first: W (5, 4), X (4, 6), b (5, 1); batch_first: X (6, 4), W (5, 4), b (5,)
        const Shape x_shape = batch_first ? Shape{6, 4} : Shape{4, 6}, b_shape = batch_first ? Shape{5} : Shape{5, 1};
        c.add(f.name, {c.normal(x_shape, 1, f.dtype), c.normal({5, 4}, 1, f.dtype), c.normal(b_shape, 1, f.dtype)},
              [f](V x) {
                  Generator g(f.seed);
                  DropoutOptions options = f.options;
                  options.generator = &g;
                  return linear_relu_dropout(x[0], x[1], x[2], f.layout, options);
              });
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: op_forward_cases OUT.npz\n";
        return 2;
    }
    try {
        Cases cases;
        arithmetic_cases(cases);
        linalg_cases(cases);
        shape_cases(cases);
        indexing_cases(cases);
        reduction_cases(cases);
        elementwise_cases(cases);
        activation_cases(cases);
        loss_cases(cases);
        conv_cases(cases);
        normalization_cases(cases);
        dropout_cases(cases);
        save_npz(argv[1], cases.arrays());
        return cases.errors() ? 1 : 0;
    } catch (const std::exception& e) {
        std::cerr << "op_forward_cases: " << e.what() << "\n";
        return 1;
    }
}
