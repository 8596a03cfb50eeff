// Fused recurrent cells: the element-wise part of an LSTM step as one op. Composed from sigmoid,
// tanh, split, products and sums, one LSTM step records ~15 nodes and makes ~15 passes over (N, H)
// arrays; fused it is one node, one pass forward and one backward, and saves what backward reads.

#include <cmath>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "framework/simd.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

// gates = [a_i | a_f | a_g | a_o] (N, 4H), PyTorch's order; c (N, H) the previous cell state:
//   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o);  c' = f⊙c + i⊙g;  h' = o⊙tanh(c')
// With dh, dc' the gradients reaching h' and c', and k = tanh(c'):
//   dc_total = dc' + dh⊙o⊙(1 − k²)
//   da_i = dc_total⊙g⊙i(1−i),  da_f = dc_total⊙c⊙f(1−f),  da_g = dc_total⊙i⊙(1−g²),  da_o = dh⊙k⊙o(1−o)
//   dc = dc_total⊙f
// σ and tanh are kernels::sigmoid_value and tanh_value, as the sigmoid and tanh ops compute them.
// One row of one step, shared by lstm_cell and lstm_layer so that both give the same bits.

// Each row function is a plain loop on distinct (restrict) arrays, compiled for AVX-512, AVX2 and
// the baseline (framework/simd.hpp): in float32, σ and tanh inline to branch-free double math.

/// Reads the row's pre-activations `a` (4H) and c_prev (H); writes the saved activations `s`
/// (5H: i, f, g, o, tanh(c')), h' and c'.
template <class T>
[[gnu::always_inline]] inline void cell_forward_row_loop(const T* __restrict a, const T* __restrict c_prev,
                                                         T* __restrict s, T* __restrict h_next, T* __restrict c_next,
                                                         std::size_t h) {
    for (std::size_t j = 0; j < h; ++j) {
        const T i = sigmoid_value(a[j]), f = sigmoid_value(a[h + j]), g = tanh_value(a[2 * h + j]),
                o = sigmoid_value(a[3 * h + j]);
        const T c = f * c_prev[j] + i * g;
        const T k = tanh_value(c);
        s[j] = i, s[h + j] = f, s[2 * h + j] = g, s[3 * h + j] = o, s[4 * h + j] = k;
        h_next[j] = o * k;
        c_next[j] = c;
    }
}
XGRAD_VECTOR_CLONES void cell_forward_row(const float* a, const float* c_prev, float* s, float* h_next,
                                          float* c_next, std::size_t h) {
    cell_forward_row_loop(a, c_prev, s, h_next, c_next, h);
}
XGRAD_VECTOR_CLONES void cell_forward_row(const double* a, const double* c_prev, double* s, double* h_next,
                                          double* c_next, std::size_t h) {
    cell_forward_row_loop(a, c_prev, s, h_next, c_next, h);
}

/// dh = dh_out (+ dh_carried with Carried: the gradient coming back through the recurrence); dc_out
/// reaches c'. Writes d_gates (4H) and d_c_prev (H).
template <bool Carried, class T>
[[gnu::always_inline]] inline void cell_backward_row_loop(const T* __restrict s, const T* __restrict c_prev,
                                                          const T* __restrict dh_out, const T* __restrict dh_carried,
                                                          const T* __restrict dc_out, T* __restrict d_gates,
                                                          T* __restrict d_c_prev, std::size_t h) {
    for (std::size_t j = 0; j < h; ++j) {
        const T i = s[j], f = s[h + j], g = s[2 * h + j], o = s[3 * h + j], k = s[4 * h + j];
        const T dh = Carried ? dh_out[j] + dh_carried[j] : dh_out[j];
        const T dc_total = dc_out[j] + dh * o * (T(1) - k * k);
        d_gates[j] = dc_total * g * i * (T(1) - i);
        d_gates[h + j] = dc_total * c_prev[j] * f * (T(1) - f);
        d_gates[2 * h + j] = dc_total * i * (T(1) - g * g);
        d_gates[3 * h + j] = dh * k * o * (T(1) - o);
        d_c_prev[j] = dc_total * f;
    }
}
template <class T>
[[gnu::always_inline]] inline void cell_backward_row_any(const T* s, const T* c_prev, const T* dh_out, const T* dh_carried, const T* dc_out,
                           T* d_gates, T* d_c_prev, std::size_t h) {
    if (dh_carried)
        cell_backward_row_loop<true>(s, c_prev, dh_out, dh_carried, dc_out, d_gates, d_c_prev, h);
    else
        cell_backward_row_loop<false>(s, c_prev, dh_out, dh_out, dc_out, d_gates, d_c_prev, h);
}
/// dh_carried may be null (no recurrence: lstm_cell). No output may overlap an input.
XGRAD_VECTOR_CLONES void cell_backward_row(const float* s, const float* c_prev, const float* dh_out,
                                           const float* dh_carried, const float* dc_out, float* d_gates,
                                           float* d_c_prev, std::size_t h) {
    cell_backward_row_any(s, c_prev, dh_out, dh_carried, dc_out, d_gates, d_c_prev, h);
}
XGRAD_VECTOR_CLONES void cell_backward_row(const double* s, const double* c_prev, const double* dh_out,
                                           const double* dh_carried, const double* dc_out, double* d_gates,
                                           double* d_c_prev, std::size_t h) {
    cell_backward_row_any(s, c_prev, dh_out, dh_carried, dc_out, d_gates, d_c_prev, h);
}

// lstm_cell: result = [h' | c'] (N, 2H); its gradient is [dh | dc'].
struct LstmCellOp final : Op {
    Array activations;  // (N, 5H): i, f, g, o, tanh(c') — what backward reads

    std::string name() const override { return "lstm_cell"; }
    bool backward_reads_input(std::size_t i) const override { return i == 1; }  // c; the gates are saved activated
    bool backward_reads_result() const override { return false; }
    void release_saved() override { activations = Array(); }
    std::size_t saved_bytes() const override { return activations.defined() ? activations.nbytes() : 0; }

    Array forward(const Inputs& x) override {
        const Array& gates = *x[0];
        const Array& c = *x[1];
        if (gates.ndim() != 2 || gates.shape()[1] % 4 != 0 || gates.shape()[1] == 0)
            throw ShapeError("lstm_cell: gates must be (N, 4H) with H ≥ 1, got " + shape_str(gates.shape()));
        const std::size_t n = gates.shape()[0], h = gates.shape()[1] / 4;
        if (c.shape() != Shape{n, h})
            throw ShapeError("lstm_cell: cell state must be (" + std::to_string(n) + ", " + std::to_string(h) +
                             ") for gates " + shape_str(gates.shape()) + ", got " + shape_str(c.shape()));
        if (c.dtype() != gates.dtype())
            throw DTypeError(std::string("lstm_cell: gates are ") + dtype_name(gates.dtype()) + " but the cell state is " +
                             dtype_name(c.dtype()));
        Array out = Array::uninitialized({n, 2 * h}, gates.dtype());
        activations = Array::uninitialized({n, 5 * h}, gates.dtype());
        dispatch(gates.dtype(), [&](auto tag) {
            using T = decltype(tag);
            for (std::size_t r = 0; r < n; ++r) {
                const T* a = gates.data<T>() + r * 4 * h;
                const T* c_prev = c.data<T>() + r * h;
                T* s = activations.data<T>() + r * 5 * h;
                T* y = out.data<T>() + r * 2 * h;
                cell_forward_row(a, c_prev, s, y, y + h, h);
            }
        });
        return out;
    }
    Grads backward(const BackwardArgs& a) const override {
        if (!activations.defined())
            throw GraphError("lstm_cell: backward after its saved activations were released (use retain_graph)");
        const Array& c = *a.inputs[1];
        const std::size_t n = c.shape()[0], h = c.shape()[1];
        // Both are computed (one pass gives both); the unwanted one is dropped.
        Array d_gates = Array::uninitialized({n, 4 * h}, c.dtype());
        Array d_c = Array::uninitialized({n, h}, c.dtype());
        dispatch(c.dtype(), [&](auto tag) {
            using T = decltype(tag);
            for (std::size_t r = 0; r < n; ++r) {
                const T* s = activations.data<T>() + r * 5 * h;
                const T* g_out = a.grad_out.data<T>() + r * 2 * h;
                const T* c_prev = c.data<T>() + r * h;
                cell_backward_row(s, c_prev, g_out, static_cast<const T*>(nullptr), g_out + h,
                                  d_gates.data<T>() + r * 4 * h, d_c.data<T>() + r * h, h);
            }
        });
        return {a.wants(0) ? std::move(d_gates) : Array(), a.wants(1) ? std::move(d_c) : Array()};
    }
};


// lstm_layer: a whole LSTM layer over a sequence as one node, as cuDNN and PyTorch's fused kernels
// run it. Unrolled, every step records its own input projection, recurrent product and cell; a
// step's gemms have N rows (the batch) only, and backward adds T weight gradients into the
// parameters' one by one. Fused:
//   forward:  P = X·W_ihᵀ + b_ih + b_hh for all T·N rows in one gemm; then per step
//             P_t += fed_t·W_hhᵀ (fed_t = h_{t-1}⊙mask) and the cell's row formulas.
//   backward: per step, the cell's row formulas give dP_t, and dfed = dP_t·W_hh carries the
//             gradient to step t-1 (⊙mask); after the loop, one gemm each:
//             dW_ih = dPᵀ·X, dW_hh = dPᵀ·fed, dX = dP·W_ih, db = Σ_rows dP.
// Rows are kept in x's layout (batch first: row b·T + t; else t·N + b), so X, P, fed and dP line up
// row for row in the whole-sequence gemms, and a step's rows are one strided matrix for gemm.
// Result: (N, T+1, H) batch first, (T+1, N, H) otherwise; step t < T holds h_t, step T holds c_T.
struct LstmLayerOp final : Op {
    bool batch_first, has_bias, has_mask;
    std::size_t steps = 0, batch = 0, hidden = 0, features = 0;
    Array activations;  // (T·N, 5H): i, f, g, o, tanh(c_t) per row
    Array cells;        // (T·N, H): c_t per row
    Array fed;          // (T·N, H): h_{t-1}⊙mask, what step t's recurrent gemm read

    enum Input : std::size_t { x_in, w_ih_in, w_hh_in, h0_in, c0_in };
    LstmLayerOp(bool batch_first_, bool has_bias_, bool has_mask_)
        : batch_first(batch_first_), has_bias(has_bias_), has_mask(has_mask_) {}
    std::size_t mask_index() const { return has_bias ? 7 : 5; }

    std::string name() const override { return "lstm_layer"; }
    std::string label() const override {
        return "lstm_layer(T=" + std::to_string(steps) + ", H=" + std::to_string(hidden) +
               (batch_first ? ", batch first)" : ")");
    }
    std::vector<std::pair<std::string, std::string>> attributes() const override {
        return {{"steps", std::to_string(steps)}, {"hidden", std::to_string(hidden)}};
    }
    // Backward reads x (dW_ih), both weights, the mask, and h0 and the result (h_{t-1}) for the
    // mask's gradient; c0 (the first step's df); never the biases.
    bool backward_reads_input(std::size_t i) const override {
        if (i == h0_in) return has_mask;
        return !(has_bias && (i == 5 || i == 6));
    }
    bool backward_reads_result() const override { return has_mask; }
    void release_saved() override { activations = cells = fed = Array(); }
    std::size_t saved_bytes() const override {
        std::size_t bytes = 0;
        for (const Array* a : {&activations, &cells, &fed})
            if (a->defined()) bytes += a->nbytes();
        return bytes;
    }

    // Row of (step t, sequence b) in x's layout, and a step's rows as one (strided) matrix.
    std::size_t row(std::size_t t, std::size_t b) const { return batch_first ? b * steps + t : t * batch + b; }
    std::size_t step_stride() const { return batch_first ? steps : 1; }
    // The same for the result, whose time axis has T+1 entries.
    std::size_t out_row(std::size_t t, std::size_t b) const {
        return batch_first ? b * (steps + 1) + t : t * batch + b;
    }
    kernels::MatrixAt step_rows(const Array& a, std::size_t t, std::size_t width) const {
        return {&a, row(t, 0) * width, batch, width, step_stride() * width};
    }

    void check(const Inputs& x) {
        const Array& input = *x[x_in];
        if (input.ndim() != 3)
            throw ShapeError(std::string("lstm_layer: input must be ") + (batch_first ? "(N, T, in)" : "(T, N, in)") +
                             ", got " + shape_str(input.shape()));
        steps = input.shape()[batch_first ? 1 : 0];
        batch = input.shape()[batch_first ? 0 : 1];
        features = input.shape()[2];
        const Shape& w_hh = x[w_hh_in]->shape();
        if (w_hh.size() != 2 || w_hh[0] == 0 || w_hh[0] != 4 * w_hh[1])
            throw ShapeError("lstm_layer: weight_hh must be (4H, H), got " + shape_str(w_hh));
        hidden = w_hh[1];
        if (steps == 0 || batch == 0)
            throw ShapeError("lstm_layer: empty sequence batch " + shape_str(input.shape()));
        auto expect = [](const char* what, const Array& a, const Shape& shape) {
            if (a.shape() != shape)
                throw ShapeError(std::string("lstm_layer: ") + what + " must be " + shape_str(shape) + ", got " +
                                 shape_str(a.shape()));
        };
        expect("weight_ih", *x[w_ih_in], {4 * hidden, features});
        expect("h0", *x[h0_in], {batch, hidden});
        expect("c0", *x[c0_in], {batch, hidden});
        if (has_bias) {
            expect("bias_ih", *x[5], {4 * hidden});
            expect("bias_hh", *x[6], {4 * hidden});
        }
        if (has_mask) expect("mask", *x[mask_index()], {batch, hidden});
    }

    Array forward(const Inputs& x) override {
        check(x);
        const Array& input = *x[x_in];
        const std::size_t n_rows = steps * batch, h = hidden, g4 = 4 * hidden;
        const DType dtype = input.dtype();
        Array gates = Array::uninitialized({n_rows, g4}, dtype);
        activations = Array::uninitialized({n_rows, 5 * h}, dtype);
        cells = Array::uninitialized({n_rows, h}, dtype);
        fed = Array::uninitialized({n_rows, h}, dtype);
        Shape out_shape = batch_first ? Shape{batch, steps + 1, h} : Shape{steps + 1, batch, h};
        Array out = Array::uninitialized(out_shape, dtype);
        // The input projection of every step at once.
        kernels::gemm_into({&input, 0, n_rows, features}, false, {x[w_ih_in], 0, g4, features}, true, gates, 0, false);
        dispatch(dtype, [&](auto tag) {
            using T = decltype(tag);
            T* p = gates.data<T>();
            if (has_bias) {
                std::vector<T> bias(g4);
                const T* b_ih = x[5]->data<T>();
                const T* b_hh = x[6]->data<T>();
                for (std::size_t j = 0; j < g4; ++j) bias[j] = b_ih[j] + b_hh[j];
                for (std::size_t r = 0; r < n_rows; ++r)
                    for (std::size_t j = 0; j < g4; ++j) p[r * g4 + j] += bias[j];
            }
            const T* mask = has_mask ? x[mask_index()]->data<T>() : nullptr;
            T* y = out.data<T>();
            for (std::size_t t = 0; t < steps; ++t) {
                for (std::size_t b = 0; b < batch; ++b) {
                    const T* h_prev = t == 0 ? x[h0_in]->data<T>() + b * h : y + out_row(t - 1, b) * h;
                    T* f = fed.data<T>() + row(t, b) * h;
                    if (mask)
                        for (std::size_t j = 0; j < h; ++j) f[j] = h_prev[j] * mask[b * h + j];
                    else
                        std::copy_n(h_prev, h, f);
                }
                kernels::gemm_into(step_rows(fed, t, h), false, {x[w_hh_in], 0, g4, h}, true, gates, row(t, 0) * g4,
                                   true, step_stride() * g4);
                for (std::size_t b = 0; b < batch; ++b) {
                    const T* c_prev = t == 0 ? x[c0_in]->data<T>() + b * h : cells.data<T>() + row(t - 1, b) * h;
                    cell_forward_row(p + row(t, b) * g4, c_prev, activations.data<T>() + row(t, b) * 5 * h,
                                     y + out_row(t, b) * h, cells.data<T>() + row(t, b) * h, h);
                }
            }
            for (std::size_t b = 0; b < batch; ++b)
                std::copy_n(cells.data<T>() + row(steps - 1, b) * h, h, y + out_row(steps, b) * h);
        });
        return out;
    }

    Grads backward(const BackwardArgs& a) const override {
        if (!activations.defined())
            throw GraphError("lstm_layer: backward after its saved activations were released (use retain_graph)");
        const Array& input = *a.inputs[x_in];
        const std::size_t n_rows = steps * batch, h = hidden, g4 = 4 * hidden;
        const DType dtype = input.dtype();
        const bool wants_mask = has_mask && a.wants(mask_index());
        Array d_gates = Array::uninitialized({n_rows, g4}, dtype);
        Array dh_carried({batch, h}, dtype);  // dL/dh_{t-1} through the recurrence (zero after the last step)
        Array dc = Array::uninitialized({batch, h}, dtype);       // dL/dc_t, from the step after
        Array dc_prev = Array::uninitialized({batch, h}, dtype);  // dL/dc_{t-1}, being computed
        Array d_fed = Array::uninitialized({batch, h}, dtype);
        Array d_mask = wants_mask ? Array({batch, h}, dtype) : Array();
        dispatch(dtype, [&](auto tag) {
            using T = decltype(tag);
            const T* g_out = a.grad_out.data<T>();
            const T* y = a.result.data<T>();
            const T* mask = has_mask ? a.inputs[mask_index()]->data<T>() : nullptr;
            for (std::size_t b = 0; b < batch; ++b) std::copy_n(g_out + out_row(steps, b) * h, h, dc.data<T>() + b * h);
            for (std::size_t t = steps; t-- > 0;) {
                for (std::size_t b = 0; b < batch; ++b) {
                    const T* c_prev =
                        t == 0 ? a.inputs[c0_in]->data<T>() + b * h : cells.data<T>() + row(t - 1, b) * h;
                    cell_backward_row(activations.data<T>() + row(t, b) * 5 * h, c_prev, g_out + out_row(t, b) * h,
                                      static_cast<const T*>(dh_carried.data<T>() + b * h), dc.data<T>() + b * h,
                                      d_gates.data<T>() + row(t, b) * g4, dc_prev.data<T>() + b * h, h);
                }
                std::swap(dc, dc_prev);
                if (t == 0 && !a.wants(h0_in) && !wants_mask) break;  // nothing reads dfed_0
                if (!mask) {  // dL/dh_{t-1} is dfed itself
                    kernels::gemm_into(step_rows(d_gates, t, g4), false, {a.inputs[w_hh_in], 0, g4, h}, false,
                                       dh_carried, 0, false);
                    continue;
                }
                kernels::gemm_into(step_rows(d_gates, t, g4), false, {a.inputs[w_hh_in], 0, g4, h}, false, d_fed, 0,
                                   false);
                const T* df = d_fed.data<T>();
                T* carried = dh_carried.data<T>();
                for (std::size_t b = 0; b < batch; ++b) {
                    const T* h_prev = t == 0 ? a.inputs[h0_in]->data<T>() + b * h : y + out_row(t - 1, b) * h;
                    for (std::size_t j = 0; j < h; ++j) {
                        const std::size_t e = b * h + j;
                        if (wants_mask) d_mask.data<T>()[e] += df[e] * h_prev[j];
                        carried[e] = df[e] * mask[e];
                    }
                }
            }
        });
        Grads grads;
        const Shape& x_shape = input.shape();
        if (a.wants(x_in)) {
            Array dx = Array::uninitialized(x_shape, dtype);
            kernels::gemm_into({&d_gates, 0, n_rows, g4}, false, {a.inputs[w_ih_in], 0, g4, features}, false, dx, 0,
                               false);
            grads.push_back(std::move(dx));
        } else {
            grads.push_back(Array());
        }
        for (const auto& [index, rows] : {std::pair{w_ih_in, &input}, std::pair{w_hh_in, &fed}}) {
            const std::size_t cols = index == w_ih_in ? features : h;
            Array dw = Array();
            if (a.wants(index)) {
                dw = Array::uninitialized({g4, cols}, dtype);
                kernels::gemm_into({&d_gates, 0, n_rows, g4}, true, {rows, 0, n_rows, cols}, false, dw, 0, false);
            }
            grads.push_back(std::move(dw));
        }
        grads.push_back(a.wants(h0_in) ? std::move(dh_carried) : Array());
        grads.push_back(a.wants(c0_in) ? std::move(dc) : Array());
        if (has_bias) {
            Array db = a.wants(5) || a.wants(6) ? kernels::sum_keepdims(d_gates, 0).reshaped({g4}) : Array();
            grads.push_back(a.wants(5) ? db : Array());
            grads.push_back(a.wants(6) ? std::move(db) : Array());
        }
        if (has_mask) grads.push_back(std::move(d_mask));
        return grads;
    }
};
}  // namespace

Tensor lstm_cell(const Tensor& gates, const Tensor& c) { return apply_op(std::make_unique<LstmCellOp>(), {gates, c}); }

LstmSequence lstm_layer(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& weight_ih,
                        const Tensor& weight_hh, const Tensor& bias_ih, const Tensor& bias_hh, const Tensor& mask,
                        bool batch_first) {
    if (bias_ih.defined() != bias_hh.defined())
        throw ValueError("lstm_layer: give both biases or neither (bias_ih " +
                         std::string(bias_ih.defined() ? "given" : "undefined") + ", bias_hh " +
                         (bias_hh.defined() ? "given" : "undefined") + ")");
    std::vector<Tensor> inputs{x, weight_ih, weight_hh, h0, c0};
    if (bias_ih.defined()) inputs.insert(inputs.end(), {bias_ih, bias_hh});
    if (mask.defined()) inputs.push_back(mask);
    const Tensor packed =
        apply_op(std::make_unique<LstmLayerOp>(batch_first, bias_ih.defined(), mask.defined()), inputs);
    const int time_axis = batch_first ? 1 : 0;
    const auto steps = static_cast<std::int64_t>(packed.shape()[static_cast<std::size_t>(time_axis)]) - 1;
    return {slice(packed, time_axis, 0, steps), select(packed, time_axis, steps - 1), select(packed, time_axis, steps)};
}

}  // namespace xgrad
