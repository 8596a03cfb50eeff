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

// z = a + b; dz/da = 1, dz/db = 1
struct Add final : Op {
    std::string name() const override { return "add"; }
    Array forward(const Inputs& x) override { return zip(*x[0], *x[1], [](auto a, auto b) { return a + b; }, "add"); }
    Grads backward(const BackwardArgs& a) const override {
        Array grad_b = a.wants(1) ? a.grad_out : Array();  // copy first: grad_out is moved below
        return {std::move(a.grad_out), std::move(grad_b)};
    }
};

// z = a - b; dz/da = 1, dz/db = -1
struct Sub final : Op {
    std::string name() const override { return "sub"; }
    Array forward(const Inputs& x) override { return zip(*x[0], *x[1], [](auto a, auto b) { return a - b; }, "sub"); }
    Grads backward(const BackwardArgs& a) const override {
        Array grad_b = a.wants(1) ? -a.grad_out : Array();
        return {std::move(a.grad_out), std::move(grad_b)};
    }
};

// z = a * b; dz/da = b, dz/db = a
struct Mul final : Op {
    std::string name() const override { return "mul"; }
    Array forward(const Inputs& x) override { return zip(*x[0], *x[1], [](auto a, auto b) { return a * b; }, "mul"); }
    Grads backward(const BackwardArgs& a) const override {
        return {a.wants(0) ? a.grad_out * *a.inputs[1] : Array(),
                a.wants(1) ? a.grad_out * *a.inputs[0] : Array()};
    }
};

// z = a / b; dz/da = 1/b, dz/db = -a/b² = -z/b
struct Div final : Op {
    std::string name() const override { return "div"; }
    Array forward(const Inputs& x) override { return zip(*x[0], *x[1], [](auto a, auto b) { return a / b; }, "div"); }
    Grads backward(const BackwardArgs& a) const override {
        return {a.wants(0) ? a.grad_out / *a.inputs[1] : Array(),
                a.wants(1) ? -(a.grad_out * a.result / *a.inputs[1]) : Array()};
    }
};

// y = -x; dy/dx = -1
struct Neg final : Op {
    std::string name() const override { return "neg"; }
    Array forward(const Inputs& x) override { return -*x[0]; }
    Grads backward(const BackwardArgs& a) const override { return {-a.grad_out}; }
};

// y = x + c; dy/dx = 1
struct AddScalar final : Op {
    double c;
    explicit AddScalar(double c) : c(c) {}
    std::string name() const override { return "add_scalar"; }
    std::string label() const override { return "add(" + format_number(c) + ")"; }
    Array forward(const Inputs& x) override { return map(*x[0], [c = c](auto v) { return v + c; }); }
    Grads backward(const BackwardArgs& a) const override { return {std::move(a.grad_out)}; }
};

// y = x * c; dy/dx = c
struct MulScalar final : Op {
    double c;
    explicit MulScalar(double c) : c(c) {}
    std::string name() const override { return "mul_scalar"; }
    std::string label() const override { return "mul(" + format_number(c) + ")"; }
    Array forward(const Inputs& x) override { return *x[0] * c; }
    Grads backward(const BackwardArgs& a) const override { return {a.grad_out * c}; }
};

// y = x / c; dy/dx = 1/c  (a true division, so results match numpy's x / c bit for bit)
struct DivScalar final : Op {
    double c;
    explicit DivScalar(double c) : c(c) {}
    std::string name() const override { return "div_scalar"; }
    std::string label() const override { return "div(" + format_number(c) + ")"; }
    Array forward(const Inputs& x) override { return map(*x[0], [c = c](auto v) { return v / c; }); }
    Grads backward(const BackwardArgs& a) const override {
        return {map(a.grad_out, [c = c](auto g) { return g / c; })};
    }
};

// y = c - x; dy/dx = -1
struct ScalarSub final : Op {
    double c;
    explicit ScalarSub(double c) : c(c) {}
    std::string name() const override { return "rsub_scalar"; }
    std::string label() const override { return format_number(c) + " - x"; }
    Array forward(const Inputs& x) override { return map(*x[0], [c = c](auto v) { return c - v; }); }
    Grads backward(const BackwardArgs& a) const override { return {-a.grad_out}; }
};

// y = c / x; dy/dx = -c/x² = -y/x
struct ScalarDiv final : Op {
    double c;
    explicit ScalarDiv(double c) : c(c) {}
    std::string name() const override { return "rdiv_scalar"; }
    std::string label() const override { return format_number(c) + " / x"; }
    Array forward(const Inputs& x) override { return map(*x[0], [c = c](auto v) { return c / v; }); }
    Grads backward(const BackwardArgs& a) const override { return {-(a.grad_out * a.result / *a.inputs[0])}; }
};

// y = x as another dtype; dy/dx = 1 (converted back)
struct AsType final : Op {
    DType to;
    explicit AsType(DType to) : to(to) {}
    std::string name() const override { return "astype"; }
    std::string label() const override { return std::string("astype(") + dtype_name(to) + ")"; }
    Array forward(const Inputs& x) override { return x[0]->astype(to); }
    Grads backward(const BackwardArgs& a) const override { return {a.grad_out.astype(a.inputs[0]->dtype())}; }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<Add>(), {a, b}); }
Tensor sub(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<Sub>(), {a, b}); }
Tensor mul(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<Mul>(), {a, b}); }
Tensor div(const Tensor& a, const Tensor& b) { return apply_op(std::make_unique<Div>(), {a, b}); }
Tensor neg(const Tensor& x) { return apply_op(std::make_unique<Neg>(), {x}); }
Tensor add(const Tensor& x, double c) { return apply_op(std::make_unique<AddScalar>(c), {x}); }
Tensor mul(const Tensor& x, double c) { return apply_op(std::make_unique<MulScalar>(c), {x}); }
Tensor div(const Tensor& x, double c) { return apply_op(std::make_unique<DivScalar>(c), {x}); }
Tensor sub(double c, const Tensor& x) { return apply_op(std::make_unique<ScalarSub>(c), {x}); }
Tensor div(double c, const Tensor& x) { return apply_op(std::make_unique<ScalarDiv>(c), {x}); }
Tensor astype(const Tensor& x, DType dtype) { return apply_op(std::make_unique<AsType>(dtype), {x}); }

}  // namespace xgrad
