// An op added out of tree, as docs/adding-an-op.md describes, against the installed package only:
// softsign(x) = x / (1 + |x|), with its gradient checked by xgrad's own gradient checker.
#include <xgrad/xgrad.hpp>
#include <xgrad/framework/kernels.hpp>

#include <cmath>
#include <iostream>

namespace my_ops {
using namespace xgrad;
using namespace xgrad::kernels;

// [adding-an-op: op]
// y = x / (1 + |x|); dy/dx = 1 / (1 + |x|)²
struct SoftsignOp final : Op {
    std::string name() const override { return "softsign"; }
    Array forward(const Inputs& x) override {
        return map(*x[0], [](auto v) { return v / (1 + std::abs(v)); });
    }
    Grads backward(const BackwardArgs& a) const override {
        return {zip(std::move(a.grad_out), *a.inputs[0], [](auto g, auto v) {
            const auto d = 1 + std::abs(v);
            return g / (d * d);
        }, "softsign")};
    }
};

Tensor softsign(const Tensor& x) { return apply_op(std::make_unique<SoftsignOp>(), {x}); }
// [adding-an-op: end]
}  // namespace my_ops

int main() {
    using namespace xgrad;
    seed(1);
    Tensor x = parameter(randn({3, 4}), "x");
    const GradcheckReport report = gradcheck([&] { return sum(my_ops::softsign(x) * my_ops::softsign(x)); }, {x});
    std::cout << "custom op softsign: gradient check difference " << report.difference << "\n";
    const double y = my_ops::softsign(constant(Array({1}, {-3.0}))).item();
    if (!report.passed || y != -0.75) return 1;
    std::cout << "custom op softsign: ok\n";
    return 0;
}
