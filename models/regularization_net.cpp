#include "models/regularization_net.hpp"

#include <chrono>
#include <cmath>

#include "framework/engine.hpp"
#include "framework/errors.hpp"
#include "models/optim.hpp"

namespace xgrad {

namespace {
// "W1", "layer2": appended in two steps, because GCC 12 warns falsely (-Wstringop-overflow) on the
// temporary of "W" + std::to_string(l) in this constructor.
std::string numbered(const char* prefix, std::size_t l) {
    std::string name = prefix;
    name += std::to_string(l);
    return name;
}
}  // namespace

RegularizationNet::RegularizationNet(const std::vector<std::size_t>& layer_dims, double keep_prob, DropoutScale scale,
                                     Generator& gen, bool fused) {
    if (layer_dims.size() < 2) throw ValueError("RegularizationNet: layer_dims needs at least an input and an output size");
    layers_ = register_module("", std::make_shared<Sequential>());
    const std::size_t L = layer_dims.size() - 1;
    for (std::size_t l = 1; l <= L; ++l) {
        LinearOptions lo;
        lo.init = Init::course;
        lo.weight_name = numbered("W", l);
        lo.bias_name = numbered("b", l);
        lo.generator = &gen;
        // Each layer's modules share one scope name, so DOT export draws "layer1", "layer2", ...
        const std::string layer = numbered("layer", l);
        auto add = [&](std::shared_ptr<Module> m) {
            m->set_scope_name(layer);
            layers_->add(std::move(m));
        };
        DropoutOptions d;
        d.keep_prob = keep_prob;
        d.scale = scale;
        if (fused && l < L && keep_prob < 1.0) {  // one module, one node: the same values
            linears_.push_back(std::make_shared<LinearReLUDropout>(layer_dims[l - 1], layer_dims[l], lo, d));
            add(linears_.back());
            continue;
        }
        linears_.push_back(std::make_shared<Linear>(layer_dims[l - 1], layer_dims[l], lo));
        add(linears_.back());
        if (l < L) {
            add(std::make_shared<ReLU>());
            if (keep_prob < 1.0) add(std::make_shared<Dropout>(d));
        } else {
            add(std::make_shared<Sigmoid>());
        }
    }
}

Tensor RegularizationNet::forward(const Tensor& X) { return layers_->forward(X); }

Tensor RegularizationNet::cost(const Tensor& A, const Tensor& Y, double lambd) const {
    Tensor cross_entropy = binary_cross_entropy(A, Y);
    if (lambd == 0.0) return cross_entropy;
    return cross_entropy + l2_penalty(weights(), lambd, Y.shape().at(1));
}

std::vector<Tensor> RegularizationNet::weights() const {
    std::vector<Tensor> w;
    for (const auto& linear : linears_) w.push_back(linear->weight);
    return w;
}

double RegularizationNet::accuracy(const LabeledData& data) {
    const bool was_training = training();
    eval();
    double accuracy = 0.0;
    {
        NoGradGuard no_grad;
        const Tensor predictions = greater(forward(constant(data.X)), 0.5);
        accuracy = mean(equal(predictions, constant(data.Y))).item();
    }
    train(was_training);
    return accuracy;
}

std::unique_ptr<RegularizationNet> make_regularization_net(const RegNetConfig& config) {
    DropoutOptions{.keep_prob = config.keep_prob}.validate("regularization net");
    seed(config.seed);
    return std::make_unique<RegularizationNet>(config.layer_dims, config.keep_prob, config.scale, global_generator(),
                                               config.fused);
}

TrainReport train(RegularizationNet& model, const Dataset& data, const RegNetConfig& config,
                  const IterationCallback& on_iteration,
                  const std::function<void(const Tensor& cost)>& after_first_backward) {
    if (data.train.X.shape().at(0) != config.layer_dims.front())
        throw ShapeError("regularization net: data has " + std::to_string(data.train.X.shape()[0]) +
                         " features but layer_dims starts with " + std::to_string(config.layer_dims.front()));
    const auto start = std::chrono::steady_clock::now();
    TrainReport report;
    SGD optimizer(model.parameters(), config.learning_rate);
    const Tensor X = constant(data.train.X, "X");
    const Tensor Y = constant(data.train.Y, "Y");
    model.train();
    for (std::size_t i = 0; i < config.iterations; ++i) {
        if (config.reseed_each_step) seed(config.mask_seed);
        Tensor cost = model.cost(model(X), Y, config.lambd);
        const double c = cost.item();
        if (!std::isfinite(c))
            throw AnomalyError("regularization net: the cost became " + std::to_string(c) + " at iteration " +
                               std::to_string(i));
        optimizer.zero_grad();
        const bool export_graph = i == 0 && after_first_backward;
        cost.backward(BackwardOptions{.record_grad_norms = export_graph});
        if (export_graph) after_first_backward(cost);
        optimizer.step();
        if (config.record_every && i % config.record_every == 0) report.costs.emplace_back(i, c);
        if (on_iteration) on_iteration(i, c);
        report.final_cost = c;
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.train_accuracy = model.accuracy(data.train);
    report.test_accuracy = model.accuracy(data.test);
    return report;
}

}  // namespace xgrad
