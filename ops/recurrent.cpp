// Fused recurrent cells: the element-wise part of an LSTM step as one op. Composed from sigmoid,
// tanh, split, products and sums, one LSTM step records ~15 nodes and makes ~15 passes over (N, H)
// arrays; fused it is one node, one pass forward and one backward, and saves what backward reads.

#include <cmath>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

// gates = [a_i | a_f | a_g | a_o] (N, 4H), PyTorch's order; c (N, H) the previous cell state:
//   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o);  c' = f⊙c + i⊙g;  h' = o⊙tanh(c')
//   result = [h' | c'] (N, 2H)
// With G = [dh | dc'] and k = tanh(c'):
//   dc_total = dc' + dh⊙o⊙(1 − k²)
//   da_i = dc_total⊙g⊙i(1−i),  da_f = dc_total⊙c⊙f(1−f),  da_g = dc_total⊙i⊙(1−g²),  da_o = dh⊙k⊙o(1−o)
//   dc = dc_total⊙f
// σ and tanh are kernels::sigmoid_value and tanh_value, as the sigmoid and tanh ops compute them.
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
                for (std::size_t j = 0; j < h; ++j) {
                    const T i = sigmoid_value(a[j]), f = sigmoid_value(a[h + j]), g = tanh_value(a[2 * h + j]),
                            o = sigmoid_value(a[3 * h + j]);
                    const T c_next = f * c_prev[j] + i * g;
                    const T k = tanh_value(c_next);
                    s[j] = i, s[h + j] = f, s[2 * h + j] = g, s[3 * h + j] = o, s[4 * h + j] = k;
                    y[j] = o * k;
                    y[h + j] = c_next;
                }
            }
        });
        return out;
    }
    Grads backward(const BackwardArgs& a) const override {
        if (!activations.defined())
            throw GraphError("lstm_cell: backward after its saved activations were released (use retain_graph)");
        const Array& c = *a.inputs[1];
        const std::size_t n = c.shape()[0], h = c.shape()[1];
        Array d_gates = a.wants(0) ? Array::uninitialized({n, 4 * h}, c.dtype()) : Array();
        Array d_c = a.wants(1) ? Array::uninitialized({n, h}, c.dtype()) : Array();
        dispatch(c.dtype(), [&](auto tag) {
            using T = decltype(tag);
            for (std::size_t r = 0; r < n; ++r) {
                const T* s = activations.data<T>() + r * 5 * h;
                const T* g_out = a.grad_out.data<T>() + r * 2 * h;
                const T* c_prev = c.data<T>() + r * h;
                T* da = a.wants(0) ? d_gates.data<T>() + r * 4 * h : nullptr;
                T* dc = a.wants(1) ? d_c.data<T>() + r * h : nullptr;
                for (std::size_t j = 0; j < h; ++j) {
                    const T i = s[j], f = s[h + j], g = s[2 * h + j], o = s[3 * h + j], k = s[4 * h + j];
                    const T dh = g_out[j];
                    const T dc_total = g_out[h + j] + dh * o * (T(1) - k * k);
                    if (da) {
                        da[j] = dc_total * g * i * (T(1) - i);
                        da[h + j] = dc_total * c_prev[j] * f * (T(1) - f);
                        da[2 * h + j] = dc_total * i * (T(1) - g * g);
                        da[3 * h + j] = dh * k * o * (T(1) - o);
                    }
                    if (dc) dc[j] = dc_total * f;
                }
            }
        });
        return {std::move(d_gates), std::move(d_c)};
    }
};

}  // namespace

Tensor lstm_cell(const Tensor& gates, const Tensor& c) { return apply_op(std::make_unique<LstmCellOp>(), {gates, c}); }

}  // namespace xgrad
