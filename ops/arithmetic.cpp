// Arithmetic: + - * / with numpy broadcasting, their scalar forms, negation, dtype conversion.
// Backward formulas return gradients of the output's (broadcast) shape; the engine sums them
// down to each input's shape.

#include <cmath>

#include "framework/engine.hpp"
#include "framework/kernels.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

// Each op says which values its backward reads (Op::backward_reads_input / _result): the engine
// refuses a backward whose reads were edited in place since the forward, and an op that reads
// nothing (an addition, a difference, a product by a constant) must not be refused for an edit that
// cannot change its gradient. Those derive from ReadsNoValueOp (astype reads its input's dtype only,
// and a replacement of another dtype is refused by the engine for every op).
struct ReadsNoValueOp : Op {
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }
};

// z = a + b; dz/da = 1, dz/db = 1
struct AddOp final : ReadsNoValueOp {
    std::string name() const override { return "add"; }
    Array forward(const Inputs& x) override { return zip(*x[0], *x[1], [](auto a, auto b) { return a + b; }, "add"); }
    Grads backward(const BackwardArgs& a) const override {
        Array grad_b = a.wants(1) ? a.grad_out : Array();  // copy first: grad_out is moved below
        return {std::move(a.grad_out), std::move(grad_b)};
    }
};

// z = a - b; dz/da = 1, dz/db = -1
struct SubOp final : ReadsNoValueOp {
    std::string name() const override { return "sub"; }
    Array forward(const Inputs& x) override { return zip(*x[0], *x[1], [](auto a, auto b) { return a - b; }, "sub"); }
    Grads backward(const BackwardArgs& a) const override {
        Array grad_b = a.wants(1) ? -a.grad_out : Array();
        return {std::move(a.grad_out), std::move(grad_b)};
    }
};

// z = a * b; dz/da = b, dz/db = a
struct MulOp final : Op {
    std::string name() const override { return "mul"; }
    bool backward_reads_result() const override { return false; }
    Array forward(const Inputs& x) override { return zip(*x[0], *x[1], [](auto a, auto b) { return a * b; }, "mul"); }
    Grads backward(const BackwardArgs& a) const override {
        return {a.wants(0) ? a.grad_out * *a.inputs[1] : Array(),
                a.wants(1) ? a.grad_out * *a.inputs[0] : Array()};
    }
};

// z = a / b; dz/da = 1/b, dz/db = -a/b² = -z/b
struct DivOp final : Op {
    std::string name() const override { return "div"; }
    bool backward_reads_input(std::size_t i) const override { return i == 1; }  // and the result
    Array forward(const Inputs& x) override { return zip(*x[0], *x[1], [](auto a, auto b) { return a / b; }, "div"); }
    Grads backward(const BackwardArgs& a) const override {
        return {a.wants(0) ? a.grad_out / *a.inputs[1] : Array(),
                a.wants(1) ? -(a.grad_out * a.result / *a.inputs[1]) : Array()};
    }
};

// y = -x; dy/dx = -1
struct NegOp final : ReadsNoValueOp {
    std::string name() const override { return "neg"; }
    Array forward(const Inputs& x) override { return -*x[0]; }
    Grads backward(const BackwardArgs& a) const override { return {-a.grad_out}; }
};

// y = x + c; dy/dx = 1
struct AddScalarOp final : ReadsNoValueOp {
    double c;
    explicit AddScalarOp(double c) : c(c) {}
    std::string name() const override { return "add_scalar"; }
    std::string label() const override { return "add(" + format_number(c) + ")"; }
    Array forward(const Inputs& x) override { return map(*x[0], [c = c](auto v) { return v + c; }); }
    Grads backward(const BackwardArgs& a) const override { return {std::move(a.grad_out)}; }
};

// y = x * c; dy/dx = c
struct MulScalarOp final : ReadsNoValueOp {
    double c;
    explicit MulScalarOp(double c) : c(c) {}
    std::string name() const override { return "mul_scalar"; }
    std::string label() const override { return "mul(" + format_number(c) + ")"; }
    Array forward(const Inputs& x) override { return *x[0] * c; }
    Grads backward(const BackwardArgs& a) const override { return {a.grad_out * c}; }
};

// y = x / c; dy/dx = 1/c  (a true division, so results match numpy's x / c bit for bit)
struct DivScalarOp final : ReadsNoValueOp {
    double c;
    explicit DivScalarOp(double c) : c(c) {}
    std::string name() const override { return "div_scalar"; }
    std::string label() const override { return "div(" + format_number(c) + ")"; }
    Array forward(const Inputs& x) override { return map(*x[0], [c = c](auto v) { return v / c; }); }
    Grads backward(const BackwardArgs& a) const override {
        return {map(a.grad_out, [c = c](auto g) { return g / c; })};
    }
};

// y = c - x; dy/dx = -1
struct ScalarSubOp final : ReadsNoValueOp {
    double c;
    explicit ScalarSubOp(double c) : c(c) {}
    std::string name() const override { return "rsub_scalar"; }
    std::string label() const override { return format_number(c) + " - x"; }
    Array forward(const Inputs& x) override { return map(*x[0], [c = c](auto v) { return c - v; }); }
    Grads backward(const BackwardArgs& a) const override { return {-a.grad_out}; }
};

// y = c / x; dy/dx = -c/x² = -y/x
struct ScalarDivOp final : Op {
    double c;
    explicit ScalarDivOp(double c) : c(c) {}
    std::string name() const override { return "rdiv_scalar"; }
    std::string label() const override { return format_number(c) + " / x"; }
    Array forward(const Inputs& x) override { return map(*x[0], [c = c](auto v) { return c / v; }); }
    Grads backward(const BackwardArgs& a) const override { return {-(a.grad_out * a.result / *a.inputs[0])}; }
};

// y = x as another dtype; dy/dx = 1 (converted back)
struct AsTypeOp final : ReadsNoValueOp {
    DType to;
    explicit AsTypeOp(DType to) : to(to) {}
    std::string name() const override { return "astype"; }
    std::string label() const override { return std::string("astype(") + dtype_name(to) + ")"; }
    Array forward(const Inputs& x) override { return x[0]->astype(to); }
    Grads backward(const BackwardArgs& a) const override { return {a.grad_out.astype(a.inputs[0]->dtype())}; }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<AddOp>(), {a, b}); }
Tensor sub(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<SubOp>(), {a, b}); }
Tensor mul(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<MulOp>(), {a, b}); }
Tensor div(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<DivOp>(), {a, b}); }
Tensor neg(const Tensor& x) { return apply_op(std::make_unique<NegOp>(), {x}); }
Tensor add(const Tensor& x, double c) { return apply_op(std::make_unique<AddScalarOp>(c), {x}); }
Tensor mul(const Tensor& x, double c) { return apply_op(std::make_unique<MulScalarOp>(c), {x}); }
Tensor div(const Tensor& x, double c) { return apply_op(std::make_unique<DivScalarOp>(c), {x}); }
Tensor sub(double c, const Tensor& x) { return apply_op(std::make_unique<ScalarSubOp>(c), {x}); }
Tensor div(double c, const Tensor& x) { return apply_op(std::make_unique<ScalarDivOp>(c), {x}); }
Tensor astype(const Tensor& x, DType dtype) {
    // int64 on either side: a plain conversion outside the graph (labels are never differentiable).
    if (!is_floating(dtype) || !is_floating(x.dtype())) return constant(x.value().astype(dtype), x.name());
    return apply_op(std::make_unique<AsTypeOp>(dtype), {x});
}

}  // namespace xgrad
