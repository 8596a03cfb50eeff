// A 20-line model script against the installed package: learn XOR with a 2-4-1 tanh/sigmoid net.
#include <xgrad/xgrad.hpp>

#include <iostream>

int main() {
    using namespace xgrad;
    seed(0);
    Linear hidden(2, 4, {.init = Init::xavier}), out(4, 1, {.init = Init::xavier});
    Tensor X = constant(Array({2, 4}, {0, 0, 1, 1, 0, 1, 0, 1})), Y = constant(Array({1, 4}, {0, 1, 1, 0}));
    Adam adam({hidden.weight, hidden.bias, out.weight, out.bias}, 0.05);
    double cost = 0;
    for (int step = 0; step < 2000; ++step) {
        Tensor loss = binary_cross_entropy(sigmoid(out(tanh(hidden(X)))), Y);
        adam.zero_grad();
        loss.backward();
        adam.step();
        cost = loss.item();
    }
    std::cout << "xgrad " << version << ": XOR cost after 2000 Adam steps = " << cost << "\n";
    return cost < 0.05 ? 0 : 1;
}
