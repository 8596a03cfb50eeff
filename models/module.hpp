#pragma once
// Modules: named parameters, sub-modules, train/eval mode. Models are composition only — every
// gradient comes from the ops they call, never from code in models/.
//
// Layouts: the course's nets are features × examples — Linear computes Z = W·X + b with W (out, in),
// X (in, m), b (out, 1). Layers for CNNs and sequences use PyTorch's batch-first layout; Linear
// takes either, chosen when it is built (LinearOptions::layout): batch-first computes X·Wᵀ + b with
// X (…, in) and b (out,), so a CNN's flatten() output feeds it with no transpose.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "framework/random.hpp"
#include "framework/tensor.hpp"
#include "ops/ops.hpp"

namespace xgrad {

class Module {
public:
    virtual ~Module() = default;
    virtual Tensor forward(const Tensor& x) = 0;
    /// forward() inside this module's scope, so DOT export can draw the module as a cluster.
    Tensor operator()(const Tensor& x);

    /// A forward hook runs after every operator() call with the module, its input and its output
    /// (for activation statistics, logging, feature extraction); hooks run in registration order.
    using ForwardHook = std::function<void(Module& module, const Tensor& input, const Tensor& output)>;
    void register_forward_hook(ForwardHook hook);
    void clear_forward_hooks() { forward_hooks_.clear(); }

    /// The name DOT export shows for this module's cluster ("" = no cluster of its own).
    const std::string& scope_name() const { return scope_name_; }
    void set_scope_name(std::string name) { scope_name_ = std::move(name); }

    /// Parameters of this module and its sub-modules, in registration order; a tensor shared by two
    /// of them (a tied weight) once, so that an optimizer updates it once.
    std::vector<Tensor> parameters() const;
    /// The same with names: a sub-module registered under "enc" contributes "enc.W"; one registered
    /// under an empty name contributes its parameters' own names (so a model can expose W1, b1...).
    std::vector<std::pair<std::string, Tensor>> named_parameters() const;

    /// Buffers: state that is saved with the parameters but is not learned by gradients (a batch
    /// norm's running statistics). Never returned by parameters(), so never given to an optimizer.
    std::vector<std::pair<std::string, Tensor>> named_buffers() const;
    /// Parameters then buffers, named: what save_parameters writes and load_parameters reads.
    std::vector<std::pair<std::string, Tensor>> named_state() const;

    /// Training mode reaches every sub-module (and so every Dropout inside).
    void train(bool training = true);
    void eval() { train(false); }
    bool training() const { return training_; }
    void zero_grad();

protected:
    Tensor register_parameter(std::string name, Tensor tensor);
    Tensor register_buffer(std::string name, Tensor tensor);
    template <class M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
        check_names_free(name, *module);
        children_.emplace_back(std::move(name), module);
        return module;
    }

private:
    /// ValueError when a child registered under `prefix` would expose a parameter or buffer name that
    /// another tensor of this module already has (two unnamed Linear layers both exposing "W"): found
    /// here, when the model is built, rather than by save_parameters after training.
    void check_names_free(const std::string& prefix, const Module& child) const;
    /// This module's parameters (or buffers) and its children's, names joined under `prefix`, repeats kept.
    void append_named(std::vector<std::pair<std::string, Tensor>>& out, const std::string& prefix, bool buffers) const;

    std::vector<std::pair<std::string, Tensor>> parameters_;
    std::vector<std::pair<std::string, Tensor>> buffers_;
    std::vector<ForwardHook> forward_hooks_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
    std::string scope_name_;
};

/// Weight initializers, all drawn from a numpy-compatible generator so a C++ model starts from the
/// very same weights as the numpy notebook.
enum class Init {
    zeros,
    course,  ///< randn(out, in) / sqrt(in)        (the regularization assignment)
    he,      ///< randn(out, in) · sqrt(2 / in)
    xavier,  ///< randn(out, in) · sqrt(2 / (in + out))   (Glorot normal)
};
Array init_weight(Init init, std::size_t out, std::size_t in, Generator& gen, DType dtype = DType::f64);

struct LinearOptions {
    Init init = Init::course;
    std::string weight_name = "W";
    std::string bias_name = "b";
    DType dtype = DType::f64;
    Generator* generator = nullptr;  ///< nullptr: the global generator
    /// features_first: Z = W·X + b, X (in, m), b (out, 1) — the course's nets.
    /// batch_first: Z = X·Wᵀ + b, X (…, in), b (out,) — PyTorch's nn.Linear.
    Layout layout = Layout::features_first;
};

/// Z = W·X + b (features first) or X·Wᵀ + b (batch first); W is (out, in) in both.
class Linear : public Module {
public:
    Linear(std::size_t in, std::size_t out, const LinearOptions& options = {});
    Tensor forward(const Tensor& x) override;
    Layout layout() const { return layout_; }
    Tensor weight, bias;

protected:
    /// ShapeError naming the layer when x does not fit its weight in its layout.
    void check_input(const Tensor& x) const;

private:
    Layout layout_;
};

/// Linear → ReLU → Dropout as one module and one node (linear_relu_dropout): what three modules
/// compute, the same parameters, names and mask draws, with one element-wise pass each way. For the
/// hidden layers of an MLP that asks for speed; the op-per-node modules stay the default.
class LinearReLUDropout : public Linear {
public:
    LinearReLUDropout(std::size_t in, std::size_t out, const LinearOptions& linear, DropoutOptions dropout);
    Tensor forward(const Tensor& x) override;
    DropoutOptions dropout;
};

class ReLU : public Module {
public:
    Tensor forward(const Tensor& x) override { return relu(x); }
};
class Sigmoid : public Module {
public:
    Tensor forward(const Tensor& x) override { return sigmoid(x); }
};
class Tanh : public Module {
public:
    Tensor forward(const Tensor& x) override { return tanh(x); }
};

/// Dropout that follows its module's train/eval mode.
class Dropout : public Module {
public:
    explicit Dropout(DropoutOptions options);
    Tensor forward(const Tensor& x) override;
    DropoutOptions options;
};

class Sequential : public Module {
public:
    Sequential() = default;
    /// Appends a layer under a name ("" keeps its parameters' own names: W1, b1, ...). A layer whose
    /// names would clash with another's (two unnamed Linear layers both bring "W") is refused here,
    /// with ValueError, so save_parameters cannot fail on it after training.
    template <class M>
    std::shared_ptr<M> add(std::shared_ptr<M> layer, std::string name = {}) {
        register_module(std::move(name), layer);  // first: a refused layer is not run either
        layers_.push_back(layer);
        return layer;
    }
    Tensor forward(const Tensor& x) override;
    std::size_t size() const { return layers_.size(); }

private:
    std::vector<std::shared_ptr<Module>> layers_;
};

/// Saves every named parameter and buffer into a numpy .npz (numpy.load(path)["W1"] reads it back),
/// atomically: an existing file is replaced only by a complete new one.
void save_parameters(const Module& module, const std::string& path);
/// Loads parameters and buffers saved by save_parameters (or numpy.savez): every one of the module's
/// must be present with its shape; values are converted to its dtype. IoError names the path and the
/// entry that is missing, extra or of the wrong shape; the module is unchanged then.
void load_parameters(Module& module, const std::string& path);

/// λ/(2m) · Σ_W ||W||², built in the graph (so it shows in gradient checks and DOT exports).
Tensor l2_penalty(const std::vector<Tensor>& weights, double lambd, std::size_t m);

}  // namespace xgrad
