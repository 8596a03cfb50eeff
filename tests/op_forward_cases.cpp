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

/// One case: the tensors it feeds the op(s), and what came out.
struct Result {
    std::vector<Tensor> in;
    std::vector<Tensor> out;
};

class Cases {
public:
    /// Runs one case and records its arrays. A name used twice is a bug in this table: it throws.
    void add(const std::string& name, const std::function<Result()>& make) {
        if (!names_.insert(name).second) throw std::logic_error("duplicate case " + name);
        try {
            const Result r = make();
            for (std::size_t i = 0; i < r.in.size(); ++i) arrays_[name + "__in" + std::to_string(i)] = r.in[i].value();
            if (r.out.size() == 1) {
                arrays_[name + "__out"] = r.out[0].value();
            } else {
                for (std::size_t i = 0; i < r.out.size(); ++i)
                    arrays_[name + "__out" + std::to_string(i)] = r.out[i].value();
            }
        } catch (const std::exception& e) {
            std::cerr << "op_forward_cases: " << name << ": " << e.what() << "\n";
            ++errors_;
        }
    }

    // ---- inputs (all from one numpy-compatible stream; the values are saved, so its order is free) ----

    /// scale · randn
    Tensor normal(const Shape& shape, double scale = 1.0, DType dtype = DType::f64) {
        return transformed(gen_.randn(shape), [scale](double v) { return scale * v; }, dtype);
    }
    /// Uniform on [lo, hi).
    Tensor uniform(const Shape& shape, double lo, double hi, DType dtype = DType::f64) {
        return transformed(gen_.rand(shape), [lo, hi](double v) { return lo + (hi - lo) * v; }, dtype);
    }
    /// round(2 · randn): small integers, so that maxima, minima and comparisons tie.
    Tensor integers(const Shape& shape, DType dtype = DType::f64) {
        return transformed(gen_.randn(shape), [](double v) { return std::round(2.0 * v); }, dtype);
    }
    /// int64 class indices in [0, classes) (or in [-classes, classes) with negatives, for indexing).
    Tensor labels(const Shape& shape, std::int64_t classes, bool negatives = false) {
        const double lo = negatives ? -static_cast<double>(classes) : 0.0;
        return transformed(gen_.rand(shape), [&](double v) { return std::floor(lo + (classes - lo) * v); }, DType::i64);
    }
    /// Values given in row-major order.
    static Tensor values(const Shape& shape, std::vector<double> v, DType dtype = DType::f64) {
        return constant(Array(shape, std::move(v), dtype));
    }

    const std::map<std::string, Array>& arrays() const { return arrays_; }
    int errors() const { return errors_; }

private:
    template <class F>
    static Tensor transformed(const Array& a, F f, DType dtype) {
        std::vector<double> v = a.to_vector();
        for (double& e : v) e = f(e);
        return constant(Array(a.shape(), std::move(v), dtype));
    }

    Generator gen_{20240601};
    std::set<std::string> names_;
    std::map<std::string, Array> arrays_;
    int errors_ = 0;
};

constexpr DType f32 = DType::f32, i64 = DType::i64;

void arithmetic_cases(Cases& c) {
    c.add("add_broadcast_3d", [&] { Tensor a = c.normal({2, 3, 4}), b = c.normal({3, 1}); return Result{{a, b}, {add(a, b)}}; });
    c.add("add_broadcast_both", [&] { Tensor a = c.normal({2, 1, 3}), b = c.normal({5, 1}); return Result{{a, b}, {a + b}}; });
    c.add("add_0d_and_vector", [&] { Tensor a = c.normal({}), b = c.normal({3}); return Result{{a, b}, {add(a, b)}}; });
    c.add("add_scalar", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {add(x, 2.5)}}; });
    c.add("add_operator_scalar_left", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {2.5 + x}}; });
    c.add("add_f32", [&] { Tensor a = c.normal({3, 4}, 1, f32), b = c.normal({4}, 1, f32); return Result{{a, b}, {add(a, b)}}; });
    c.add("sub_broadcast", [&] { Tensor a = c.normal({3, 4}), b = c.normal({4}); return Result{{a, b}, {sub(a, b)}}; });
    c.add("sub_scalar_left", [&] { Tensor x = c.normal({2, 3}); return Result{{x}, {sub(1.5, x)}}; });
    c.add("sub_operator_scalar_right", [&] { Tensor x = c.normal({2, 3}); return Result{{x}, {x - 1.5}}; });
    c.add("sub_operator_4d", [&] { Tensor a = c.normal({2, 1, 3, 1}), b = c.normal({4, 1, 5}); return Result{{a, b}, {a - b}}; });
    c.add("mul_broadcast_4d", [&] { Tensor a = c.normal({2, 1, 3, 1}), b = c.normal({4, 1, 5}); return Result{{a, b}, {mul(a, b)}}; });
    c.add("mul_scalar", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {mul(x, -3.0)}}; });
    c.add("mul_operator_scalar_left", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {0.5 * x}}; });
    c.add("mul_f32", [&] { Tensor a = c.normal({3, 1}, 1, f32), b = c.normal({3, 4}, 1, f32); return Result{{a, b}, {a * b}}; });
    c.add("div_broadcast", [&] { Tensor a = c.normal({3, 4}), b = c.uniform({3, 1}, 0.5, 2); return Result{{a, b}, {div(a, b)}}; });
    c.add("div_scalar", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {div(x, 3.0)}}; });
    c.add("div_scalar_left", [&] { Tensor x = c.uniform({3, 4}, 0.5, 2); return Result{{x}, {div(2.0, x)}}; });
    c.add("div_operator_scalar_left", [&] { Tensor x = c.uniform({5}, -2, -0.5); return Result{{x}, {1.0 / x}}; });
    c.add("div_f32", [&] { Tensor a = c.normal({2, 3}, 1, f32), b = c.uniform({3}, 0.5, 2, f32); return Result{{a, b}, {a / b}}; });
    c.add("neg_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {neg(x)}}; });
    c.add("neg_operator_f32", [&] { Tensor x = c.normal({4}, 1, f32); return Result{{x}, {-x}}; });
    c.add("mul_big_broadcast", [&] { Tensor a = c.normal({37, 1}), b = c.normal({29}); return Result{{a, b}, {a * b}}; });
    c.add("astype_f64_to_f32", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {astype(x, f32)}}; });
    c.add("astype_f32_to_f64", [&] { Tensor x = c.normal({3, 4}, 1, f32); return Result{{x}, {astype(x, DType::f64)}}; });
    // numpy's astype truncates toward zero: -2.7 → -2.
    c.add("astype_f64_to_i64_truncates", [&] { Tensor x = c.normal({4, 5}, 3); return Result{{x}, {astype(x, i64)}}; });
    c.add("astype_f32_to_i64", [&] { Tensor x = c.normal({6}, 3, f32); return Result{{x}, {astype(x, i64)}}; });
    c.add("astype_i64_to_f64", [&] { Tensor x = c.labels({2, 3}, 10, true); return Result{{x}, {astype(x, DType::f64)}}; });
    c.add("astype_method", [&] { Tensor x = c.normal({2, 3}); return Result{{x}, {x.astype(f32)}}; });
}

void linalg_cases(Cases& c) {
    c.add("matmul_2d", [&] { Tensor a = c.normal({3, 4}), b = c.normal({4, 5}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_batch_broadcast", [&] { Tensor a = c.normal({2, 1, 3, 4}), b = c.normal({5, 4, 2}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_vector_batch", [&] { Tensor a = c.normal({4}), b = c.normal({3, 4, 2}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_batch_vector", [&] { Tensor a = c.normal({2, 3, 4}), b = c.normal({4}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_matrix_vector", [&] { Tensor a = c.normal({3, 4}), b = c.normal({4}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_vector_vector", [&] { Tensor a = c.normal({4}), b = c.normal({4}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_batch_matrix", [&] { Tensor a = c.normal({2, 3, 4}), b = c.normal({4, 5}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_matrix_batch", [&] { Tensor a = c.normal({3, 4}), b = c.normal({2, 4, 5}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_transpose_a_batched", [&] {
        Tensor a = c.normal({2, 4, 3}), b = c.normal({2, 4, 5});
        return Result{{a, b}, {matmul(a, b, true, false)}};
    });
    c.add("matmul_transpose_b_batched", [&] {
        Tensor a = c.normal({2, 3, 4}), b = c.normal({5, 4});
        return Result{{a, b}, {matmul(a, b, false, true)}};
    });
    c.add("matmul_transpose_both_broadcast", [&] {
        Tensor a = c.normal({3, 1, 4, 3}), b = c.normal({2, 5, 4});
        return Result{{a, b}, {matmul(a, b, true, true)}};
    });
    c.add("matmul_transpose_a_2d", [&] { Tensor a = c.normal({4, 3}), b = c.normal({4, 2}); return Result{{a, b}, {matmul(a, b, true)}}; });
    c.add("matmul_inner_size_zero", [&] { Tensor a = c.normal({3, 0}), b = c.normal({0, 2}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_f32_batched", [&] {
        Tensor a = c.normal({2, 3, 4}, 1, f32), b = c.normal({2, 4, 2}, 1, f32);
        return Result{{a, b}, {matmul(a, b)}};
    });
    // Sizes that are not multiples of any vector width or block.
    c.add("matmul_big", [&] { Tensor a = c.normal({65, 33}), b = c.normal({33, 17}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_big_batch_matrix", [&] { Tensor a = c.normal({7, 33, 9}), b = c.normal({9, 5}); return Result{{a, b}, {matmul(a, b)}}; });
    c.add("matmul_big_transpose_b_broadcast", [&] {
        Tensor a = c.normal({3, 1, 17, 8}), b = c.normal({4, 12, 8});
        return Result{{a, b}, {matmul(a, b, false, true)}};
    });
    c.add("linear_features_first", [&] {
        Tensor x = c.normal({4, 3}), w = c.normal({5, 4}), b = c.normal({5, 1});
        return Result{{x, w, b}, {linear(x, w, b)}};
    });
    c.add("linear_batch_first_3d", [&] {
        Tensor x = c.normal({2, 3, 4}), w = c.normal({5, 4}), b = c.normal({5});
        return Result{{x, w, b}, {linear(x, w, b, Layout::batch_first)}};
    });
    c.add("linear_batch_first_2d", [&] {
        Tensor x = c.normal({6, 4}), w = c.normal({3, 4}), b = c.normal({3});
        return Result{{x, w, b}, {linear(x, w, b, Layout::batch_first)}};
    });
    c.add("linear_features_first_f32", [&] {
        Tensor x = c.normal({4, 3}, 1, f32), w = c.normal({2, 4}, 1, f32), b = c.normal({2, 1}, 1, f32);
        return Result{{x, w, b}, {linear(x, w, b, Layout::features_first)}};
    });
}

void shape_cases(Cases& c) {
    c.add("reshape_infer", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {reshape(x, {4, -1})}}; });
    c.add("reshape_to_0d", [&] { Tensor x = c.normal({1, 1}); return Result{{x}, {reshape(x, Shape{})}}; });
    c.add("reshape_int64", [&] { Tensor x = c.labels({2, 6}, 9); return Result{{x}, {reshape(x, {3, 1, 4})}}; });
    c.add("reshape_method", [&] { Tensor x = c.normal({2, 6}); return Result{{x}, {x.reshape({2, -1, 2})}}; });
    c.add("permute_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {permute(x, {2, 0, 1})}}; });
    c.add("permute_negative_axes_4d", [&] { Tensor x = c.normal({2, 3, 4, 5}); return Result{{x}, {permute(x, {-1, 0, -2, 1})}}; });
    c.add("permute_int64", [&] { Tensor x = c.labels({2, 3, 2}, 7); return Result{{x}, {permute(x, {1, 2, 0})}}; });
    c.add("permute_method", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {x.permute({0, 2, 1})}}; });
    c.add("transpose_2d", [&] { Tensor x = c.normal({3, 5}); return Result{{x}, {transpose(x)}}; });
    c.add("transpose_axes_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {transpose(x, 0, 2)}}; });
    c.add("transpose_negative_axes_4d", [&] { Tensor x = c.normal({2, 3, 4, 5}); return Result{{x}, {transpose(x, -1, -3)}}; });
    c.add("transpose_int64", [&] { Tensor x = c.labels({3, 4}, 5); return Result{{x}, {transpose(x)}}; });
    c.add("transpose_method_t", [&] { Tensor x = c.normal({4, 2}); return Result{{x}, {x.t()}}; });
    c.add("transpose_method_axes", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {x.transpose(1, -1)}}; });
    c.add("flatten_default_4d", [&] { Tensor x = c.normal({2, 3, 4, 5}); return Result{{x}, {flatten(x)}}; });
    c.add("flatten_1_2_4d", [&] { Tensor x = c.normal({2, 3, 4, 5}); return Result{{x}, {flatten(x, 1, 2)}}; });
    c.add("flatten_0_neg2", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {flatten(x, 0, -2)}}; });
    c.add("flatten_int64", [&] { Tensor x = c.labels({2, 2, 3}, 4); return Result{{x}, {flatten(x)}}; });
    c.add("flatten_method", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {x.flatten(0)}}; });
    c.add("flatten_0d", [&] { Tensor x = c.normal({}); return Result{{x}, {flatten(x, 0, -1)}}; });
    c.add("squeeze_negative_axis", [&] { Tensor x = c.normal({3, 1, 4}); return Result{{x}, {squeeze(x, -2)}}; });
    c.add("squeeze_first", [&] { Tensor x = c.normal({1, 3}); return Result{{x}, {squeeze(x, 0)}}; });
    c.add("squeeze_int64", [&] { Tensor x = c.labels({2, 3, 1}, 4); return Result{{x}, {squeeze(x, -1)}}; });
    c.add("squeeze_method", [&] { Tensor x = c.normal({2, 1, 1, 3}); return Result{{x}, {x.squeeze(2)}}; });
    c.add("unsqueeze_last", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {unsqueeze(x, -1)}}; });
    c.add("unsqueeze_negative", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {unsqueeze(x, -2)}}; });
    c.add("unsqueeze_first_int64", [&] { Tensor x = c.labels({3}, 4); return Result{{x}, {unsqueeze(x, 0)}}; });
    c.add("unsqueeze_method", [&] { Tensor x = c.normal({2, 3}); return Result{{x}, {x.unsqueeze(1)}}; });
    c.add("broadcast_to_3d", [&] { Tensor x = c.normal({3, 1}); return Result{{x}, {broadcast_to(x, {2, 3, 4})}}; });
    c.add("broadcast_to_0d", [&] { Tensor x = c.normal({}); return Result{{x}, {broadcast_to(x, {2, 2})}}; });
    c.add("broadcast_to_int64", [&] { Tensor x = c.labels({1, 4}, 6); return Result{{x}, {broadcast_to(x, {3, 4})}}; });
    c.add("concat_axis1_3d", [&] {
        Tensor a = c.normal({2, 1, 4}), b = c.normal({2, 3, 4}), d = c.normal({2, 2, 4});
        return Result{{a, b, d}, {concat({a, b, d}, 1)}};
    });
    c.add("concat_axis0", [&] { Tensor a = c.normal({2, 3}), b = c.normal({1, 3}); return Result{{a, b}, {concat({a, b})}}; });
    c.add("concat_negative_axis", [&] { Tensor a = c.normal({2, 2, 1}), b = c.normal({2, 2, 3}); return Result{{a, b}, {concat({a, b}, -1)}}; });
    c.add("concat_with_empty", [&] { Tensor a = c.normal({2, 0}), b = c.normal({2, 3}); return Result{{a, b}, {concat({a, b}, 1)}}; });
    c.add("concat_int64", [&] { Tensor a = c.labels({2}, 5), b = c.labels({3}, 5); return Result{{a, b}, {concat({a, b})}}; });
    c.add("concat_f32", [&] { Tensor a = c.normal({2, 2}, 1, f32), b = c.normal({2, 1}, 1, f32); return Result{{a, b}, {concat({a, b}, -1)}}; });
    c.add("stack_axis_neg1", [&] {
        Tensor a = c.normal({3, 4}), b = c.normal({3, 4}), d = c.normal({3, 4});
        return Result{{a, b, d}, {stack({a, b, d}, -1)}};
    });
    c.add("stack_axis0", [&] { Tensor a = c.normal({2, 3}), b = c.normal({2, 3}); return Result{{a, b}, {stack({a, b})}}; });
    c.add("stack_axis1_3d", [&] { Tensor a = c.normal({2, 3, 2}), b = c.normal({2, 3, 2}); return Result{{a, b}, {stack({a, b}, 1)}}; });
    c.add("stack_int64", [&] { Tensor a = c.labels({3}, 5), b = c.labels({3}, 5); return Result{{a, b}, {stack({a, b}, 1)}}; });
    c.add("stack_single", [&] { Tensor a = c.normal({3}); return Result{{a}, {stack({a}, 1)}}; });
    c.add("split_uneven_3", [&] { Tensor x = c.normal({7, 4}); return Result{{x}, split(x, {1, 2, 4})}; });
    c.add("split_negative_axis_with_empty", [&] { Tensor x = c.normal({3, 9}); return Result{{x}, split(x, {4, 0, 5}, -1)}; });
    c.add("split_axis1_3d", [&] { Tensor x = c.normal({2, 5, 3}); return Result{{x}, split(x, {3, 2}, 1)}; });
    c.add("split_int64", [&] { Tensor x = c.labels({6}, 10); return Result{{x}, split(x, {2, 3, 1})}; });
}

void indexing_cases(Cases& c) {
    c.add("slice_basic", [&] { Tensor x = c.normal({6, 4}); return Result{{x}, {slice(x, 0, 1, 4)}}; });
    c.add("slice_step3", [&] { Tensor x = c.normal({10, 3}); return Result{{x}, {slice(x, 0, 1, 10, 3)}}; });
    c.add("slice_negative_step", [&] { Tensor x = c.normal({7, 3}); return Result{{x}, {slice(x, 0, 6, 0, -2)}}; });
    c.add("slice_negative_step_to_start", [&] { Tensor x = c.normal({7, 3}); return Result{{x}, {slice(x, 0, 5, -100, -2)}}; });
    c.add("slice_reverse_all", [&] { Tensor x = c.normal({3, 7}); return Result{{x}, {slice(x, 1, -1, -8, -1)}}; });
    c.add("slice_negative_step_clipped_start", [&] { Tensor x = c.normal({6}); return Result{{x}, {slice(x, 0, 100, 1, -3)}}; });
    c.add("slice_empty", [&] { Tensor x = c.normal({5, 4}); return Result{{x}, {slice(x, 0, 3, 1)}}; });
    c.add("slice_empty_equal_bounds", [&] { Tensor x = c.normal({5, 4}); return Result{{x}, {slice(x, 1, 2, 2)}}; });
    c.add("slice_empty_negative_step", [&] { Tensor x = c.normal({5, 4}); return Result{{x}, {slice(x, 0, 1, 3, -1)}}; });
    c.add("slice_negative_bounds", [&] { Tensor x = c.normal({3, 8}); return Result{{x}, {slice(x, 1, -5, -1)}}; });
    c.add("slice_clip_stop", [&] { Tensor x = c.normal({5, 2}); return Result{{x}, {slice(x, 0, 2, 100)}}; });
    c.add("slice_clip_start", [&] { Tensor x = c.normal({5, 2}); return Result{{x}, {slice(x, 0, -100, 3)}}; });
    c.add("slice_axis_neg1_3d", [&] { Tensor x = c.normal({2, 5, 6}); return Result{{x}, {slice(x, -1, 1, 6, 2)}}; });
    c.add("slice_int64", [&] { Tensor x = c.labels({4, 6}, 9); return Result{{x}, {slice(x, 1, -1, 0, -2)}}; });
    c.add("slice_method", [&] { Tensor x = c.normal({4, 5}); return Result{{x}, {x.slice(1, 0, 3)}}; });
    c.add("select_axis1_3d", [&] { Tensor x = c.normal({3, 4, 5}); return Result{{x}, {select(x, 1, 2)}}; });
    c.add("select_negative_index_axis", [&] { Tensor x = c.normal({3, 4, 5}); return Result{{x}, {select(x, -1, -1)}}; });
    c.add("select_1d_to_0d", [&] { Tensor x = c.normal({4}); return Result{{x}, {select(x, 0, 3)}}; });
    c.add("select_int64", [&] { Tensor x = c.labels({3, 4}, 8); return Result{{x}, {select(x, 0, -2)}}; });
    c.add("select_method_bracket", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {x[0]}}; });
    c.add("select_method_bracket_negative", [&] { Tensor x = c.normal({3, 2, 2}); return Result{{x}, {x[-1]}}; });
    c.add("index_select_repeated", [&] {
        Tensor x = c.normal({5, 3}), idx = Cases::values({5}, {4, 0, 4, 2, 4}, i64);
        return Result{{x, idx}, {index_select(x, 0, idx)}};
    });
    c.add("index_select_axis_neg1_3d", [&] {
        Tensor x = c.normal({2, 3, 6}), idx = c.labels({4}, 6);
        return Result{{x, idx}, {index_select(x, -1, idx)}};
    });
    c.add("index_select_negative_indices", [&] {
        Tensor x = c.normal({4, 5}), idx = Cases::values({3}, {-1, 0, -4}, i64);
        return Result{{x, idx}, {index_select(x, 1, idx)}};
    });
    c.add("index_select_empty_indices", [&] {
        Tensor x = c.normal({4, 3}), idx = Cases::values({0}, {}, i64);
        return Result{{x, idx}, {index_select(x, 0, idx)}};
    });
    c.add("index_select_int64_values", [&] {
        Tensor x = c.labels({4, 3}, 100), idx = c.labels({6}, 4);
        return Result{{x, idx}, {index_select(x, 0, idx)}};
    });
    c.add("index_select_f32", [&] {
        Tensor x = c.normal({3, 4}, 1, f32), idx = c.labels({5}, 3);
        return Result{{x, idx}, {index_select(x, 0, idx)}};
    });
    c.add("gather_axis0", [&] { Tensor x = c.normal({4, 3}), idx = c.labels({5, 3}, 4); return Result{{x, idx}, {gather(x, 0, idx)}}; });
    c.add("gather_axis_neg1_3d", [&] {
        Tensor x = c.normal({2, 3, 5}), idx = c.labels({2, 3, 4}, 5);
        return Result{{x, idx}, {gather(x, -1, idx)}};
    });
    c.add("gather_smaller_index", [&] { Tensor x = c.normal({4, 5}), idx = c.labels({3, 2}, 5); return Result{{x, idx}, {gather(x, 1, idx)}}; });
    c.add("gather_negative_indices", [&] {
        Tensor x = c.normal({3, 4}), idx = c.labels({3, 4}, 4, true);
        return Result{{x, idx}, {gather(x, 1, idx)}};
    });
    c.add("gather_int64_values", [&] {
        Tensor x = c.labels({3, 4}, 50), idx = c.labels({2, 4}, 3);
        return Result{{x, idx}, {gather(x, 0, idx)}};
    });
    c.add("gather_empty_index", [&] {
        Tensor x = c.normal({3, 4}), idx = Cases::values({3, 0}, {}, i64);
        return Result{{x, idx}, {gather(x, 1, idx)}};
    });
    c.add("one_hot_1d", [&] { Tensor y = c.labels({6}, 4); return Result{{y}, {one_hot(y, 4)}}; });
    c.add("one_hot_2d", [&] { Tensor y = c.labels({2, 3}, 5); return Result{{y}, {one_hot(y, 5)}}; });
    c.add("one_hot_f32_unused_classes", [&] { Tensor y = c.labels({4}, 2); return Result{{y}, {one_hot(y, 6, f32)}}; });
    c.add("one_hot_empty_labels", [&] { Tensor y = Cases::values({0}, {}, i64); return Result{{y}, {one_hot(y, 3)}}; });
}

void reduction_cases(Cases& c) {
    c.add("sum_all_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {sum(x)}}; });
    c.add("sum_axis_neg1_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {sum(x, -1)}}; });
    c.add("sum_axis0_keepdims", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {sum(x, 0, true)}}; });
    c.add("sum_axis1_4d", [&] { Tensor x = c.normal({2, 3, 4, 2}); return Result{{x}, {sum(x, 1)}}; });
    c.add("sum_empty_axis", [&] { Tensor x = c.normal({0, 3}); return Result{{x}, {sum(x, 0)}}; });
    c.add("sum_all_empty", [&] { Tensor x = c.normal({0, 3}); return Result{{x}, {sum(x)}}; });
    c.add("sum_big_axis0", [&] { Tensor x = c.normal({257, 33}); return Result{{x}, {sum(x, 0)}}; });
    c.add("sum_big_all", [&] { Tensor x = c.normal({31, 37}); return Result{{x}, {sum(x)}}; });
    c.add("sum_f32", [&] { Tensor x = c.normal({5, 4}, 1, f32); return Result{{x}, {sum(x, 1)}}; });
    c.add("sum_method_all", [&] { Tensor x = c.normal({3, 3}); return Result{{x}, {x.sum()}}; });
    c.add("sum_method_axis", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {x.sum(-2, true)}}; });
    c.add("mean_all", [&] { Tensor x = c.normal({3, 5}); return Result{{x}, {mean(x)}}; });
    c.add("mean_axis_neg2_keepdims_4d", [&] { Tensor x = c.normal({2, 3, 4, 5}); return Result{{x}, {mean(x, -2, true)}}; });
    c.add("mean_f32", [&] { Tensor x = c.normal({4, 6}, 1, f32); return Result{{x}, {mean(x, 0)}}; });
    c.add("mean_method_all", [&] { Tensor x = c.normal({2, 3}); return Result{{x}, {x.mean()}}; });
    c.add("mean_method_axis", [&] { Tensor x = c.normal({2, 3}); return Result{{x}, {x.mean(1)}}; });
    c.add("mean_big_axis1", [&] { Tensor x = c.normal({33, 257}); return Result{{x}, {mean(x, 1)}}; });
    c.add("mean_empty_axis0", [&] { Tensor x = c.normal({0, 3}); return Result{{x}, {mean(x, 0)}}; });
    c.add("max_all_ties", [&] { Tensor x = c.integers({3, 4}); return Result{{x}, {max(x)}}; });
    c.add("max_axis1_ties_keepdims", [&] { Tensor x = c.integers({4, 5}); return Result{{x}, {max(x, 1, true)}}; });
    c.add("max_axis_neg1_4d", [&] { Tensor x = c.normal({2, 3, 2, 4}); return Result{{x}, {max(x, -1)}}; });
    c.add("max_axis0_nan", [&] {
        Tensor x = Cases::values({3, 2}, {1, 2, std::nan(""), 0, 3, 1});
        return Result{{x}, {max(x, 0)}};
    });
    c.add("max_f32", [&] { Tensor x = c.integers({3, 4}, f32); return Result{{x}, {max(x, 0)}}; });
    c.add("max_method_all", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {x.max()}}; });
    c.add("max_method_axis", [&] { Tensor x = c.integers({3, 4}); return Result{{x}, {x.max(0, true)}}; });
    c.add("max_big_ties_axis1", [&] { Tensor x = c.integers({9, 301}); return Result{{x}, {max(x, 1)}}; });
    c.add("max_empty_rows", [&] { Tensor x = c.normal({0, 3}); return Result{{x}, {max(x, 1)}}; });
    c.add("min_all_ties", [&] { Tensor x = c.integers({3, 4}); return Result{{x}, {min(x)}}; });
    c.add("min_axis0_ties", [&] { Tensor x = c.integers({4, 5}); return Result{{x}, {min(x, 0)}}; });
    c.add("min_axis1_3d_keepdims", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {min(x, 1, true)}}; });
    c.add("min_axis1_nan", [&] { Tensor x = Cases::values({2, 3}, {1, std::nan(""), -1, 0, 2, 1}); return Result{{x}, {min(x, 1)}}; });
    c.add("min_method_all", [&] { Tensor x = c.normal({4}); return Result{{x}, {x.min()}}; });
    c.add("min_method_axis", [&] { Tensor x = c.integers({3, 4}); return Result{{x}, {x.min(-1)}}; });
    c.add("argmax_ties_axis0", [&] { Tensor x = c.integers({5, 6}); return Result{{x}, {argmax(x, 0)}}; });
    c.add("argmax_ties_axis_neg1_keepdims_3d", [&] { Tensor x = c.integers({2, 3, 5}); return Result{{x}, {argmax(x, -1, true)}}; });
    c.add("argmax_nan", [&] { Tensor x = Cases::values({2, 4}, {1, std::nan(""), 3, std::nan(""), 2, 2, 0, 2}); return Result{{x}, {argmax(x, 1)}}; });
    c.add("argmax_f32", [&] { Tensor x = c.integers({4, 3}, f32); return Result{{x}, {argmax(x, 1)}}; });
    c.add("argmax_method", [&] { Tensor x = c.integers({3, 4}); return Result{{x}, {x.argmax(1)}}; });
    c.add("argmax_big_ties_axis0", [&] { Tensor x = c.integers({301, 9}); return Result{{x}, {argmax(x, 0)}}; });
    c.add("argmin_ties_axis1", [&] { Tensor x = c.integers({5, 6}); return Result{{x}, {argmin(x, 1)}}; });
    c.add("argmin_ties_axis0_4d", [&] { Tensor x = c.integers({3, 2, 2, 3}); return Result{{x}, {argmin(x, 0)}}; });
    c.add("argmin_nan", [&] { Tensor x = Cases::values({3, 2}, {1, 0, std::nan(""), 0, -1, std::nan("")}); return Result{{x}, {argmin(x, 0)}}; });
    c.add("argmin_method_keepdims", [&] { Tensor x = c.integers({3, 4}); return Result{{x}, {x.argmin(0, true)}}; });
    c.add("argmin_big_ties_axis1", [&] { Tensor x = c.integers({5, 301}); return Result{{x}, {argmin(x, -1)}}; });
    c.add("logsumexp_axis0", [&] { Tensor x = c.normal({4, 3}); return Result{{x}, {logsumexp(x, 0)}}; });
    // Row 0 is around 1000 (exp overflows unless the max is subtracted), row 2 around -1000.
    c.add("logsumexp_large_values", [&] {
        Tensor x = Cases::values({3, 3}, {1000, 1000, 999, 1, 2, 3, -1000, -1001, -1000.5});
        return Result{{x}, {logsumexp(x, 1)}};
    });
    c.add("logsumexp_neg_inf_row", [&] {
        const double inf = std::numeric_limits<double>::infinity();
        Tensor x = Cases::values({2, 3}, {-inf, -inf, -inf, 0.5, -inf, 1});
        return Result{{x}, {logsumexp(x, -1)}};
    });
    c.add("logsumexp_keepdims_3d", [&] { Tensor x = c.normal({2, 3, 4}, 5); return Result{{x}, {logsumexp(x, -2, true)}}; });
    c.add("logsumexp_f32", [&] { Tensor x = c.normal({3, 5}, 3, f32); return Result{{x}, {logsumexp(x, 1)}}; });
    c.add("logsumexp_big_axis0", [&] { Tensor x = c.normal({300, 5}, 4); return Result{{x}, {logsumexp(x, 0)}}; });
    c.add("logsumexp_empty_axis", [&] { Tensor x = c.normal({0, 3}); return Result{{x}, {logsumexp(x, 0)}}; });
    c.add("var_ddof0_axis1", [&] { Tensor x = c.normal({3, 5}); return Result{{x}, {var(x, 1)}}; });
    c.add("var_ddof1_axis0_keepdims", [&] { Tensor x = c.normal({4, 3}); return Result{{x}, {var(x, 0, true, 1)}}; });
    c.add("var_ddof1_axis_neg1_3d", [&] { Tensor x = c.normal({2, 3, 4}, 10); return Result{{x}, {var(x, -1, false, 1)}}; });
    c.add("var_offset_values", [&] { Tensor x = c.uniform({2, 6}, 1000, 1001); return Result{{x}, {var(x, 1)}}; });
    c.add("var_f32", [&] { Tensor x = c.normal({4, 5}, 1, f32); return Result{{x}, {var(x, 0, false, 1)}}; });
    c.add("var_big_axis0", [&] { Tensor x = c.normal({500, 3}, 2); return Result{{x}, {var(x, 0, false, 1)}}; });
}

void elementwise_cases(Cases& c) {
    c.add("abs_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {abs(x)}}; });
    c.add("abs_f32_with_zeros", [&] { Tensor x = c.integers({8}, f32); return Result{{x}, {abs(x)}}; });
    c.add("sign_with_zeros", [&] { Tensor x = c.integers({4, 5}); return Result{{x}, {sign(x)}}; });
    c.add("sign_f32", [&] { Tensor x = Cases::values({5}, {-0.0, 0.0, 1e-30, -2.5, 3}, f32); return Result{{x}, {sign(x)}}; });
    c.add("clamp_ties_at_bounds", [&] { Tensor x = c.integers({4, 5}); return Result{{x}, {clamp(x, -1, 2)}}; });
    c.add("clamp_fractional_bounds", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {clamp(x, -0.5, 0.25)}}; });
    c.add("clamp_equal_bounds", [&] { Tensor x = c.normal({5}); return Result{{x}, {clamp(x, 0.5, 0.5)}}; });
    c.add("clamp_f32", [&] { Tensor x = c.normal({3, 4}, 1, f32); return Result{{x}, {clamp(x, -0.3, 0.7)}}; });
    c.add("maximum_ties_broadcast", [&] { Tensor a = c.integers({3, 1}), b = c.integers({4}); return Result{{a, b}, {maximum(a, b)}}; });
    c.add("maximum_ties_same_shape", [&] { Tensor a = c.integers({4, 5}), b = c.integers({4, 5}); return Result{{a, b}, {maximum(a, b)}}; });
    c.add("maximum_broadcast_3d", [&] { Tensor a = c.normal({2, 1, 4}), b = c.normal({3, 1}); return Result{{a, b}, {maximum(a, b)}}; });
    c.add("maximum_nan", [&] {
        Tensor a = Cases::values({3}, {std::nan(""), 1, 2}), b = Cases::values({3}, {0, std::nan(""), 3});
        return Result{{a, b}, {maximum(a, b)}};
    });
    c.add("maximum_f32", [&] { Tensor a = c.integers({5}, f32), b = c.integers({5}, f32); return Result{{a, b}, {maximum(a, b)}}; });
    c.add("minimum_ties_broadcast", [&] { Tensor a = c.integers({3, 1}), b = c.integers({4}); return Result{{a, b}, {minimum(a, b)}}; });
    c.add("minimum_broadcast_4d", [&] { Tensor a = c.normal({2, 1, 3, 1}), b = c.normal({4, 1, 2}); return Result{{a, b}, {minimum(a, b)}}; });
    c.add("minimum_nan", [&] {
        Tensor a = Cases::values({3}, {std::nan(""), 1, 2}), b = Cases::values({3}, {0, std::nan(""), 3});
        return Result{{a, b}, {minimum(a, b)}};
    });
    c.add("where_3way_broadcast", [&] {
        Tensor cond = c.labels({3, 1, 1}, 2).astype(DType::f64), a = c.normal({1, 4, 1}), b = c.normal({5});
        return Result{{cond, a, b}, {where(cond, a, b)}};
    });
    c.add("where_int64_cond", [&] {
        Tensor cond = c.labels({2, 3}, 3, true), a = c.normal({2, 3}), b = c.normal({2, 1});
        return Result{{cond, a, b}, {where(cond, a, b)}};
    });
    c.add("where_comparison_mask", [&] {
        Tensor a = c.normal({3, 4}), b = c.normal({4});
        return Result{{a, b}, {where(greater(a, b), a, b)}};
    });
    c.add("where_f32", [&] {
        Tensor cond = c.integers({4}, f32), a = c.normal({4}, 1, f32), b = c.normal({}, 1, f32);
        return Result{{cond, a, b}, {where(cond, a, b)}};
    });
    c.add("where_f32_cond_f64_values", [&] {
        Tensor cond = c.integers({2, 3}, f32), a = c.normal({2, 3}), b = c.normal({3});
        return Result{{cond, a, b}, {where(cond, a, b)}};
    });
    c.add("equal_ties_broadcast", [&] { Tensor a = c.integers({3, 1}), b = c.integers({4}); return Result{{a, b}, {equal(a, b)}}; });
    c.add("equal_int64", [&] { Tensor a = c.labels({3, 4}, 3), b = c.labels({4}, 3); return Result{{a, b}, {equal(a, b)}}; });
    c.add("equal_f32", [&] { Tensor a = c.integers({6}, f32), b = c.integers({6}, f32); return Result{{a, b}, {equal(a, b)}}; });
    c.add("equal_operator", [&] { Tensor a = c.integers({2, 3}), b = c.integers({2, 3}); return Result{{a, b}, {a == b}}; });
    c.add("equal_argmax_accuracy", [&] {
        Tensor z = c.integers({3, 5}), y = c.labels({5}, 3);
        return Result{{z, y}, {mean(equal(argmax(z, 0), y))}};
    });
    c.add("less_ties_broadcast_3d", [&] { Tensor a = c.integers({2, 1, 3}), b = c.integers({4, 1}); return Result{{a, b}, {less(a, b)}}; });
    c.add("less_int64", [&] { Tensor a = c.labels({3, 4}, 4), b = c.labels({3, 1}, 4); return Result{{a, b}, {less(a, b)}}; });
    c.add("less_f32", [&] { Tensor a = c.integers({6}, f32), b = c.integers({6}, f32); return Result{{a, b}, {less(a, b)}}; });
    c.add("less_operator", [&] { Tensor a = c.integers({2, 3}), b = c.integers({3}); return Result{{a, b}, {a < b}}; });
    c.add("greater_ties_broadcast", [&] { Tensor a = c.integers({3, 1}), b = c.integers({4}); return Result{{a, b}, {greater(a, b)}}; });
    c.add("greater_int64_0d", [&] { Tensor a = c.labels({5}, 4), b = c.labels({}, 4); return Result{{a, b}, {greater(a, b)}}; });
    c.add("greater_operator", [&] { Tensor a = c.integers({2, 3}), b = c.integers({2, 1}); return Result{{a, b}, {a > b}}; });
}

void activation_cases(Cases& c) {
    c.add("exp_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {exp(x)}}; });
    c.add("exp_wide", [&] { Tensor x = c.uniform({20}, -30, 30); return Result{{x}, {exp(x)}}; });
    c.add("exp_f32", [&] { Tensor x = c.normal({3, 4}, 1, f32); return Result{{x}, {exp(x)}}; });
    c.add("exp_big_odd", [&] { Tensor x = c.normal({1003}, 3); return Result{{x}, {exp(x)}}; });
    c.add("log_positive", [&] { Tensor x = c.uniform({3, 4}, 0.01, 10); return Result{{x}, {log(x)}}; });
    c.add("log_f32", [&] { Tensor x = c.uniform({6}, 0.1, 5, f32); return Result{{x}, {log(x)}}; });
    c.add("sqrt_with_zero", [&] { Tensor x = Cases::values({5}, {0, 0.25, 2, 9, 1e-8}); return Result{{x}, {sqrt(x)}}; });
    c.add("sqrt_3d", [&] { Tensor x = c.uniform({2, 3, 2}, 0, 4); return Result{{x}, {sqrt(x)}}; });
    c.add("sqrt_f32", [&] { Tensor x = c.uniform({5}, 0, 4, f32); return Result{{x}, {sqrt(x)}}; });
    c.add("square_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {square(x)}}; });
    c.add("square_f32", [&] { Tensor x = c.normal({5}, 1, f32); return Result{{x}, {square(x)}}; });
    c.add("pow_cube", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {pow(x, 3)}}; });
    c.add("pow_half", [&] { Tensor x = c.uniform({3, 4}, 0, 5); return Result{{x}, {pow(x, 0.5)}}; });
    c.add("pow_negative_exponent", [&] { Tensor x = c.uniform({6}, 0.5, 3); return Result{{x}, {pow(x, -2)}}; });
    c.add("pow_fractional", [&] { Tensor x = c.uniform({2, 3}, 0.1, 4); return Result{{x}, {pow(x, 1.7)}}; });
    c.add("pow_zero_exponent", [&] { Tensor x = c.normal({4}); return Result{{x}, {pow(x, 0)}}; });
    c.add("pow_f32", [&] { Tensor x = c.uniform({5}, 0.5, 2, f32); return Result{{x}, {pow(x, 2.5)}}; });
    c.add("relu_with_zeros", [&] { Tensor x = c.integers({4, 5}); return Result{{x}, {relu(x)}}; });
    c.add("relu_f32", [&] { Tensor x = c.normal({2, 3}, 1, f32); return Result{{x}, {relu(x)}}; });
    c.add("sigmoid_wide", [&] { Tensor x = c.uniform({4, 5}, -30, 30); return Result{{x}, {sigmoid(x)}}; });
    c.add("sigmoid_f32", [&] { Tensor x = c.normal({6}, 3, f32); return Result{{x}, {sigmoid(x)}}; });
    c.add("sigmoid_big_f32", [&] { Tensor x = c.uniform({1003}, -20, 20, f32); return Result{{x}, {sigmoid(x)}}; });
    c.add("tanh_wide", [&] { Tensor x = c.uniform({4, 5}, -30, 30); return Result{{x}, {tanh(x)}}; });
    c.add("tanh_f32", [&] { Tensor x = c.normal({6}, 1, f32); return Result{{x}, {tanh(x)}}; });
    c.add("softmax_axis0_default", [&] { Tensor x = c.normal({4, 3}); return Result{{x}, {softmax(x)}}; });
    c.add("softmax_axis_neg1_3d", [&] { Tensor x = c.normal({2, 3, 4}, 3); return Result{{x}, {softmax(x, -1)}}; });
    c.add("softmax_large_values", [&] {
        Tensor x = Cases::values({2, 3}, {1000, 999, 1000, -1000, -1001, -999});
        return Result{{x}, {softmax(x, 1)}};
    });
    c.add("softmax_f32", [&] { Tensor x = c.normal({3, 4}, 2, f32); return Result{{x}, {softmax(x, 1)}}; });
    c.add("softmax_big_axis0", [&] { Tensor x = c.normal({130, 7}, 3); return Result{{x}, {softmax(x, 0)}}; });
    c.add("softmax_empty", [&] { Tensor x = c.normal({0, 3}); return Result{{x}, {softmax(x, 0)}}; });
    c.add("log_softmax_axis0_default", [&] { Tensor x = c.normal({4, 3}); return Result{{x}, {log_softmax(x)}}; });
    c.add("log_softmax_axis1_3d", [&] { Tensor x = c.normal({2, 3, 4}, 3); return Result{{x}, {log_softmax(x, 1)}}; });
    c.add("log_softmax_large_values", [&] {
        Tensor x = Cases::values({2, 3}, {1000, 999, 1000, -1000, -1001, -999});
        return Result{{x}, {log_softmax(x, -1)}};
    });
    c.add("log_softmax_f32", [&] { Tensor x = c.normal({3, 4}, 2, f32); return Result{{x}, {log_softmax(x, 0)}}; });
    c.add("leaky_relu_default_wide", [&] { Tensor x = c.uniform({4, 5}, -30, 30); return Result{{x}, {leaky_relu(x)}}; });
    c.add("leaky_relu_slope_with_zeros", [&] { Tensor x = c.integers({8}); return Result{{x}, {leaky_relu(x, 0.2)}}; });
    c.add("leaky_relu_f32", [&] { Tensor x = c.normal({6}, 1, f32); return Result{{x}, {leaky_relu(x, 0.1)}}; });
    c.add("elu_wide", [&] { Tensor x = c.uniform({4, 5}, -30, 30); return Result{{x}, {elu(x)}}; });
    c.add("elu_alpha_small_values", [&] { Tensor x = c.normal({8}, 1e-3); return Result{{x}, {elu(x, 0.5)}}; });
    c.add("elu_f32", [&] { Tensor x = c.normal({6}, 2, f32); return Result{{x}, {elu(x, 1.5)}}; });
    c.add("gelu_wide", [&] { Tensor x = c.uniform({4, 5}, -30, 30); return Result{{x}, {gelu(x)}}; });
    c.add("gelu_near_zero", [&] { Tensor x = c.normal({3, 4}); return Result{{x}, {gelu(x)}}; });
    c.add("gelu_f32", [&] { Tensor x = c.normal({6}, 2, f32); return Result{{x}, {gelu(x)}}; });
    c.add("gelu_big", [&] { Tensor x = c.normal({1003}, 3); return Result{{x}, {gelu(x)}}; });
    c.add("silu_wide", [&] { Tensor x = c.uniform({4, 5}, -30, 30); return Result{{x}, {silu(x)}}; });
    c.add("silu_f32", [&] { Tensor x = c.normal({6}, 2, f32); return Result{{x}, {silu(x)}}; });
    c.add("softplus_wide", [&] { Tensor x = c.uniform({4, 5}, -30, 30); return Result{{x}, {softplus(x)}}; });
    c.add("softplus_extreme", [&] { Tensor x = Cases::values({6}, {-800, -40, 1e-20, 0, 40, 800}); return Result{{x}, {softplus(x)}}; });
    c.add("softplus_f32", [&] { Tensor x = c.normal({6}, 3, f32); return Result{{x}, {softplus(x)}}; });
    c.add("log_sigmoid_wide", [&] { Tensor x = c.uniform({4, 5}, -30, 30); return Result{{x}, {log_sigmoid(x)}}; });
    c.add("log_sigmoid_extreme", [&] { Tensor x = Cases::values({5}, {-800, -40, 0, 40, 800}); return Result{{x}, {log_sigmoid(x)}}; });
}

void loss_cases(Cases& c) {
    c.add("binary_cross_entropy_hard_labels", [&] {
        Tensor p = c.uniform({3, 4}, 0.01, 0.99), y = c.labels({3, 4}, 2).astype(DType::f64);
        return Result{{p, y}, {binary_cross_entropy(p, y)}};
    });
    c.add("binary_cross_entropy_soft_labels", [&] {
        Tensor p = c.uniform({5}, 0.01, 0.99), y = c.uniform({5}, 0, 1);
        return Result{{p, y}, {binary_cross_entropy(p, y)}};
    });
    // p exactly 0 or 1 where the label agrees: the zero-weight log term is skipped, not 0·(-inf).
    c.add("binary_cross_entropy_saturated", [&] {
        Tensor p = Cases::values({4}, {0, 1, 0.3, 1}), y = Cases::values({4}, {0, 1, 1, 1});
        return Result{{p, y}, {binary_cross_entropy(p, y)}};
    });
    c.add("binary_cross_entropy_f32", [&] {
        Tensor p = c.uniform({2, 3}, 0.05, 0.95, f32), y = c.labels({2, 3}, 2).astype(f32);
        return Result{{p, y}, {binary_cross_entropy(p, y)}};
    });
    c.add("binary_cross_entropy_with_logits_wide", [&] {
        Tensor z = c.uniform({4, 5}, -30, 30), y = c.labels({4, 5}, 2).astype(DType::f64);
        return Result{{z, y}, {binary_cross_entropy_with_logits(z, y)}};
    });
    c.add("binary_cross_entropy_with_logits_soft", [&] {
        Tensor z = c.normal({2, 3, 2}, 2), y = c.uniform({2, 3, 2}, 0, 1);
        return Result{{z, y}, {binary_cross_entropy_with_logits(z, y)}};
    });
    c.add("binary_cross_entropy_with_logits_f32", [&] {
        Tensor z = c.normal({6}, 2, f32), y = c.labels({6}, 2).astype(f32);
        return Result{{z, y}, {binary_cross_entropy_with_logits(z, y)}};
    });
    c.add("softmax_cross_entropy_axis0_one_hot", [&] {
        Tensor z = c.normal({4, 6}), t = transpose(one_hot(c.labels({6}, 4), 4));
        return Result{{z, t}, {softmax_cross_entropy(z, t)}};
    });
    c.add("softmax_cross_entropy_axis1_probabilities", [&] {
        Tensor z = c.normal({5, 3}), t = softmax(c.normal({5, 3}), 1);
        return Result{{z, t}, {softmax_cross_entropy(z, t, 1)}};
    });
    c.add("softmax_cross_entropy_axis_neg1_3d", [&] {
        Tensor z = c.normal({2, 3, 4}, 3), t = one_hot(c.labels({2, 3}, 4), 4);
        return Result{{z, t}, {softmax_cross_entropy(z, t, -1)}};
    });
    c.add("softmax_cross_entropy_f32", [&] {
        Tensor z = c.normal({3, 4}, 1, f32), t = one_hot(c.labels({4}, 3), 3, f32).t();
        return Result{{z, t}, {softmax_cross_entropy(z, t, 0)}};
    });
    c.add("sum_of_squares_3d", [&] { Tensor x = c.normal({2, 3, 4}); return Result{{x}, {sum_of_squares(x)}}; });
    c.add("sum_of_squares_f32", [&] { Tensor x = c.normal({5}, 1, f32); return Result{{x}, {sum_of_squares(x)}}; });

    const std::vector<std::pair<const char*, Reduction>> reductions = {
        {"mean", Reduction::mean}, {"sum", Reduction::sum}, {"none", Reduction::none}};
    for (const auto& entry : reductions) {
        const std::string how = entry.first;
        const Reduction r = entry.second;
        c.add("mse_loss_" + how, [&, r] { Tensor p = c.normal({3, 4}), t = c.normal({3, 4}); return Result{{p, t}, {mse_loss(p, t, r)}}; });
        c.add("l1_loss_" + how, [&, r] { Tensor p = c.normal({2, 3, 2}), t = c.normal({2, 3, 2}); return Result{{p, t}, {l1_loss(p, t, r)}}; });
        // d = pred - target spread over ±3: values on both sides of delta.
        c.add("huber_loss_both_sides_" + how, [&, r] {
            Tensor p = c.uniform({4, 5}, -3, 3), t = Cases::values({4, 5}, std::vector<double>(20, 0.0));
            return Result{{p, t}, {huber_loss(p, t, 1.0, r)}};
        });
        c.add("nll_loss_nc_" + how, [&, r] {
            Tensor lp = log_softmax(c.normal({5, 4}), 1), y = c.labels({5}, 4);
            return Result{{lp, y}, {nll_loss(lp, y, 1, r)}};
        });
        c.add("nll_loss_ncd_" + how, [&, r] {
            Tensor lp = log_softmax(c.normal({2, 4, 3}), 1), y = c.labels({2, 3}, 4);
            return Result{{lp, y}, {nll_loss(lp, y, 1, r)}};
        });
        c.add("nll_loss_cm_" + how, [&, r] {
            Tensor lp = log_softmax(c.normal({3, 6}), 0), y = c.labels({6}, 3);
            return Result{{lp, y}, {nll_loss(lp, y, 0, r)}};
        });
        // Classes on axis 1 of (N, C) and of (N, C, d), and on axis 0 of (C, m), smoothing 0.1.
        c.add("cross_entropy_nc_smooth_" + how, [&, r] {
            Tensor z = c.normal({5, 4}, 2), y = c.labels({5}, 4);
            return Result{{z, y}, {cross_entropy(z, y, {.axis = 1, .reduction = r, .label_smoothing = 0.1})}};
        });
        c.add("cross_entropy_ncd_smooth_" + how, [&, r] {
            Tensor z = c.normal({2, 4, 3}, 2), y = c.labels({2, 3}, 4);
            return Result{{z, y}, {cross_entropy(z, y, {.axis = 1, .reduction = r, .label_smoothing = 0.1})}};
        });
        c.add("cross_entropy_cm_smooth_" + how, [&, r] {
            Tensor z = c.normal({3, 6}, 2), y = c.labels({6}, 3);
            return Result{{z, y}, {cross_entropy(z, y, {.axis = 0, .reduction = r, .label_smoothing = 0.1})}};
        });
    }
    c.add("mse_loss_f32", [&] { Tensor p = c.normal({6}, 1, f32), t = c.normal({6}, 1, f32); return Result{{p, t}, {mse_loss(p, t)}}; });
    c.add("l1_loss_f32", [&] { Tensor p = c.normal({6}, 1, f32), t = c.normal({6}, 1, f32); return Result{{p, t}, {l1_loss(p, t)}}; });
    c.add("huber_loss_delta_half_3d", [&] {
        Tensor p = c.normal({2, 3, 4}), t = c.normal({2, 3, 4});
        return Result{{p, t}, {huber_loss(p, t, 0.5)}};
    });
    c.add("nll_loss_negative_axis", [&] {
        Tensor lp = log_softmax(c.normal({3, 5}), -1), y = c.labels({3}, 5);
        return Result{{lp, y}, {nll_loss(lp, y, -1)}};
    });
    c.add("cross_entropy_nc_default", [&] { Tensor z = c.normal({6, 3}), y = c.labels({6}, 3); return Result{{z, y}, {cross_entropy(z, y)}}; });
    c.add("cross_entropy_cm_axis_overload", [&] { Tensor z = c.normal({3, 6}), y = c.labels({6}, 3); return Result{{z, y}, {cross_entropy(z, y, 0)}}; });
    c.add("cross_entropy_large_logits", [&] {
        Tensor z = Cases::values({2, 3}, {1000, 990, 1000, -1000, 0, -999}), y = Cases::values({2}, {1, 2}, i64);
        return Result{{z, y}, {cross_entropy(z, y)}};
    });
    c.add("cross_entropy_f32_smooth", [&] {
        Tensor z = c.normal({4, 5}, 2, f32), y = c.labels({4}, 5);
        return Result{{z, y}, {cross_entropy(z, y, {.label_smoothing = 0.2})}};
    });
    c.add("cross_entropy_big_ncd_smooth_sum", [&] {
        Tensor z = c.normal({8, 10, 13}, 2), y = c.labels({8, 13}, 10);
        return Result{{z, y}, {cross_entropy(z, y, {.axis = 1, .reduction = Reduction::sum, .label_smoothing = 0.05})}};
    });
}

void conv_cases(Cases& c) {
    c.add("conv2d_pad1_bias", [&] {
        Tensor x = c.normal({2, 3, 5, 5}), w = c.normal({4, 3, 3, 3}), b = c.normal({4});
        return Result{{x, w, b}, {conv2d(x, w, b, 1, 1)}};
    });
    c.add("conv2d_stride_2x1_pad_1x0", [&] {
        Tensor x = c.normal({1, 2, 7, 6}), w = c.normal({3, 2, 3, 2}), b = c.normal({3});
        return Result{{x, w, b}, {conv2d(x, w, b, {2, 1}, {1, 0})}};
    });
    c.add("conv2d_dilation2_no_bias", [&] {
        Tensor x = c.normal({1, 2, 7, 7}), w = c.normal({2, 2, 3, 3});
        return Result{{x, w}, {conv2d(x, w, {}, 1, 2, 2)}};
    });
    c.add("conv2d_groups2_stride2", [&] {
        Tensor x = c.normal({2, 4, 5, 5}), w = c.normal({6, 2, 3, 3}), b = c.normal({6});
        return Result{{x, w, b}, {conv2d(x, w, b, 2, 1, 1, 2)}};
    });
    c.add("conv2d_depthwise", [&] {
        Tensor x = c.normal({1, 3, 4, 4}), w = c.normal({3, 1, 2, 2});
        return Result{{x, w}, {conv2d(x, w, {}, 1, 0, 1, 3)}};
    });
    c.add("conv2d_1x1", [&] {
        Tensor x = c.normal({2, 3, 4, 4}), w = c.normal({5, 3, 1, 1}), b = c.normal({5});
        return Result{{x, w, b}, {conv2d(x, w, b)}};
    });
    c.add("conv2d_1x1_stride2_pad1", [&] {
        Tensor x = c.normal({2, 3, 5, 4}), w = c.normal({2, 3, 1, 1});
        return Result{{x, w}, {conv2d(x, w, {}, 2, 1)}};
    });
    c.add("conv2d_big_rect", [&] {
        Tensor x = c.normal({2, 5, 17, 13}), w = c.normal({7, 5, 3, 4}), b = c.normal({7});
        return Result{{x, w, b}, {conv2d(x, w, b, 2, {1, 2}, {1, 2})}};
    });
    c.add("conv2d_f32", [&] {
        Tensor x = c.normal({2, 2, 4, 5}, 1, f32), w = c.normal({3, 2, 2, 2}, 1, f32), b = c.normal({3}, 1, f32);
        return Result{{x, w, b}, {conv2d(x, w, b, 1, 1)}};
    });
    c.add("conv1d_stride2_pad1", [&] {
        Tensor x = c.normal({2, 3, 9}), w = c.normal({4, 3, 3}), b = c.normal({4});
        return Result{{x, w, b}, {conv1d(x, w, b, 2, 1)}};
    });
    c.add("conv1d_dilation2_groups2", [&] {
        Tensor x = c.normal({1, 4, 10}), w = c.normal({6, 2, 3});
        return Result{{x, w}, {conv1d(x, w, {}, 1, 0, 2, 2)}};
    });
    c.add("conv1d_f32", [&] {
        Tensor x = c.normal({2, 2, 7}, 1, f32), w = c.normal({3, 2, 2}, 1, f32);
        return Result{{x, w}, {conv1d(x, w, {}, 1, 1)}};
    });
    c.add("max_pool2d_k2_odd", [&] { Tensor x = c.normal({2, 2, 5, 5}); return Result{{x}, {max_pool2d(x, 2)}}; });
    c.add("max_pool2d_k3_s2_pad1", [&] { Tensor x = c.normal({1, 2, 6, 5}); return Result{{x}, {max_pool2d(x, 3, Size2{2}, 1)}}; });
    c.add("max_pool2d_ties_rect", [&] { Tensor x = c.integers({1, 2, 4, 6}); return Result{{x}, {max_pool2d(x, {2, 3}, Size2{2, 1})}}; });
    // All values negative: a zero padding would win where a -inf padding must not.
    c.add("max_pool2d_negative_values_pad1", [&] {
        Tensor x = c.uniform({1, 2, 4, 4}, -5, -1);
        return Result{{x}, {max_pool2d(x, 2, Size2{1}, 1)}};
    });
    c.add("max_pool2d_f32", [&] { Tensor x = c.normal({1, 3, 4, 4}, 1, f32); return Result{{x}, {max_pool2d(x, 2)}}; });
    c.add("avg_pool2d_k2", [&] { Tensor x = c.normal({2, 2, 4, 6}); return Result{{x}, {avg_pool2d(x, 2)}}; });
    c.add("avg_pool2d_k3_s2_pad1", [&] { Tensor x = c.normal({1, 2, 5, 5}); return Result{{x}, {avg_pool2d(x, 3, Size2{2}, 1)}}; });
    c.add("avg_pool2d_rect_pad", [&] { Tensor x = c.normal({2, 1, 5, 6}); return Result{{x}, {avg_pool2d(x, {2, 3}, Size2{1, 2}, {1, 1})}}; });
    c.add("avg_pool2d_f32", [&] { Tensor x = c.normal({1, 2, 4, 4}, 1, f32); return Result{{x}, {avg_pool2d(x, 2)}}; });
    c.add("adaptive_avg_pool2d_5x7_to_3x2", [&] { Tensor x = c.normal({2, 2, 5, 7}); return Result{{x}, {adaptive_avg_pool2d(x, {3, 2})}}; });
    c.add("adaptive_avg_pool2d_global", [&] { Tensor x = c.normal({2, 3, 4, 5}); return Result{{x}, {adaptive_avg_pool2d(x, 1)}}; });
    c.add("adaptive_avg_pool2d_upsample", [&] { Tensor x = c.normal({1, 2, 3, 2}); return Result{{x}, {adaptive_avg_pool2d(x, {5, 3})}}; });
    c.add("adaptive_avg_pool2d_f32", [&] { Tensor x = c.normal({1, 2, 6, 6}, 1, f32); return Result{{x}, {adaptive_avg_pool2d(x, 4)}}; });
}

/// A snapshot of t's value: batch_norm updates its running statistics in place.
Tensor snapshot(const Tensor& t) { return constant(t.value()); }

void normalization_cases(Cases& c) {
    // Training with running statistics: outputs y, then the updated running mean and variance.
    c.add("batch_norm_nc_training", [&] {
        Tensor x = c.normal({5, 3}, 2), rm = c.normal({3}), rv = c.uniform({3}, 0.5, 2), w = c.normal({3}), b = c.normal({3});
        Tensor rm0 = snapshot(rm), rv0 = snapshot(rv);
        Tensor y = batch_norm(x, rm, rv, w, b, true);
        return Result{{x, rm0, rv0, w, b}, {y, rm, rv}};
    });
    c.add("batch_norm_nchw_training_momentum", [&] {
        Tensor x = c.normal({2, 3, 2, 2}), rm = c.normal({3}), rv = c.uniform({3}, 0.5, 2), w = c.normal({3}), b = c.normal({3});
        Tensor rm0 = snapshot(rm), rv0 = snapshot(rv);
        Tensor y = batch_norm(x, rm, rv, w, b, true, 0.3, 1e-3);
        return Result{{x, rm0, rv0, w, b}, {y, rm, rv}};
    });
    c.add("batch_norm_no_affine_no_running", [&] {
        Tensor x = c.normal({4, 2, 3});
        return Result{{x}, {batch_norm(x, {}, {}, {}, {}, true)}};
    });
    c.add("batch_norm_evaluation", [&] {
        Tensor x = c.normal({4, 3}), rm = c.normal({3}), rv = c.uniform({3}, 0.5, 2), w = c.normal({3}), b = c.normal({3});
        Tensor rm0 = snapshot(rm), rv0 = snapshot(rv);
        Tensor y = batch_norm(x, rm, rv, w, b, false);
        return Result{{x, rm0, rv0, w, b}, {y, rm, rv}};
    });
    c.add("batch_norm_big_offset_values", [&] {
        Tensor x = c.uniform({16, 5, 7, 3}, 1000, 1001), rm = c.normal({5}), rv = c.uniform({5}, 0.5, 2);
        Tensor w = c.normal({5}), b = c.normal({5});
        Tensor rm0 = snapshot(rm), rv0 = snapshot(rv);
        Tensor y = batch_norm(x, rm, rv, w, b, true);
        return Result{{x, rm0, rv0, w, b}, {y, rm, rv}};
    });
    c.add("batch_norm_f32", [&] {
        Tensor x = c.normal({6, 4}, 1, f32), rm = c.normal({4}, 1, f32), rv = c.uniform({4}, 0.5, 2, f32);
        Tensor w = c.normal({4}, 1, f32), b = c.normal({4}, 1, f32);
        Tensor rm0 = snapshot(rm), rv0 = snapshot(rv);
        Tensor y = batch_norm(x, rm, rv, w, b, true);
        return Result{{x, rm0, rv0, w, b}, {y, rm, rv}};
    });
    c.add("layer_norm_last_axis", [&] {
        Tensor x = c.normal({2, 3, 4}), w = c.normal({4}), b = c.normal({4});
        return Result{{x, w, b}, {layer_norm(x, {4}, w, b)}};
    });
    c.add("layer_norm_two_axes", [&] {
        Tensor x = c.normal({2, 3, 4}), w = c.normal({3, 4}), b = c.normal({3, 4});
        return Result{{x, w, b}, {layer_norm(x, {3, 4}, w, b)}};
    });
    c.add("layer_norm_no_affine", [&] { Tensor x = c.normal({3, 5}); return Result{{x}, {layer_norm(x, {5})}}; });
    c.add("layer_norm_large_eps", [&] { Tensor x = c.normal({4, 6}, 0.1); return Result{{x}, {layer_norm(x, {6}, {}, {}, 0.1)}}; });
    c.add("layer_norm_offset_values", [&] { Tensor x = c.uniform({3, 8}, 1000, 1001); return Result{{x}, {layer_norm(x, {8})}}; });
    c.add("layer_norm_f32", [&] {
        Tensor x = c.normal({3, 4}, 1, f32), w = c.normal({4}, 1, f32), b = c.normal({4}, 1, f32);
        return Result{{x, w, b}, {layer_norm(x, {4}, w, b)}};
    });
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
    const Shape small = {4, 6}, big = {37, 29};  // big: a mask of many 64-bit words, the last partial
    const std::vector<Setting> settings = {
        {"dropout_constant_keep_0_8", 1, {.keep_prob = 0.8}, DType::f64, small},
        {"dropout_constant_keep_0_5", 2, {.keep_prob = 0.5}, DType::f64, small},
        {"dropout_measured", 3, {.keep_prob = 0.7, .scale = DropoutScale::measured}, DType::f64, small},
        {"dropout_per_example", 4, {.keep_prob = 0.6, .scale = DropoutScale::per_example, .example_axis = 1}, DType::f64, small},
        {"dropout_classic_training", 5, {.keep_prob = 0.75, .scale = DropoutScale::classic}, DType::f64, small},
        {"dropout_classic_evaluation", 6, {.keep_prob = 0.75, .scale = DropoutScale::classic, .training = false}, DType::f64, small},
        {"dropout_constant_evaluation", 7, {.keep_prob = 0.75, .training = false}, DType::f64, small},
        {"dropout_constant_f32", 8, {.keep_prob = 0.9}, f32, small},
        {"dropout_big_constant", 9, {.keep_prob = 0.8}, DType::f64, big},
        {"dropout_big_per_example", 10, {.keep_prob = 0.3, .scale = DropoutScale::per_example, .example_axis = 1}, DType::f64, big},
        {"dropout_big_measured_f32_keep_0_25", 11, {.keep_prob = 0.25, .scale = DropoutScale::measured}, f32, big},
        {"dropout_big_constant_f32_keep_0_25", 12, {.keep_prob = 0.25}, f32, big},
        // dropout2d: one bit per channel map of (N, C, …); per-example counts along the batch axis.
        {"dropout2d_constant", 21, {.keep_prob = 0.6}, DType::f64, {2, 3, 2, 2}, dropout2d},
        {"dropout2d_per_example", 22, {.keep_prob = 0.6, .scale = DropoutScale::per_example}, DType::f64, {2, 4, 3}, dropout2d},
        {"dropout2d_measured", 23, {.keep_prob = 0.5, .scale = DropoutScale::measured}, DType::f64, {3, 4, 2, 2}, dropout2d},
        {"dropout2d_classic_training", 24, {.keep_prob = 0.7, .scale = DropoutScale::classic}, DType::f64, {2, 3, 2}, dropout2d},
        {"dropout2d_classic_evaluation", 25, {.keep_prob = 0.7, .scale = DropoutScale::classic, .training = false}, DType::f64, {2, 3, 2}, dropout2d},
        {"dropout2d_big_f32", 26, {.keep_prob = 0.8}, f32, {8, 20, 3, 3}, dropout2d},
    };
    for (const Setting& s : settings)
        c.add(s.name, [&c, s] {
            Generator g(s.seed);
            DropoutOptions options = s.options;
            options.generator = &g;
            Tensor x = c.normal(s.shape, 1, s.dtype);
            return Result{{x}, {s.op(x, options)}};
        });
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
        xgrad::save_npz(argv[1], cases.arrays());
        return cases.errors() ? 1 : 0;
    } catch (const std::exception& e) {
        std::cerr << "op_forward_cases: " << e.what() << "\n";
        return 1;
    }
}
