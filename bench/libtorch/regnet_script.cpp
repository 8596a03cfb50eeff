// A minimal libtorch model script (the regularization net's step), compiled by bench/compare to
// measure edit-compile time beside examples/regularization.cpp.
#include <torch/torch.h>

#include <iostream>

int main() {
    auto X = torch::randn({2, 211}, torch::kFloat64), Y = torch::rand({1, 211}, torch::kFloat64).round();
    auto l1 = torch::nn::Linear(2, 20), l2 = torch::nn::Linear(20, 3), l3 = torch::nn::Linear(3, 1);
    std::vector<torch::Tensor> params;
    for (auto* l : {&l1, &l2, &l3}) {
        (*l)->to(torch::kFloat64);
        for (auto& t : (*l)->parameters()) params.push_back(t);
    }
    torch::optim::SGD sgd(params, 0.3);
    for (int i = 0; i < 30000; ++i) {
        auto A3 = torch::sigmoid(l3->forward(torch::relu(l2->forward(torch::relu(l1->forward(X.t()))))));
        auto cost = torch::binary_cross_entropy(A3.t(), Y);
        sgd.zero_grad();
        cost.backward();
        sgd.step();
        if (i % 10000 == 0) std::cout << "Cost after iteration " << i << ": " << cost.item<double>() << "\n";
    }
}
