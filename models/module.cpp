#include "models/module.hpp"

#include <cmath>

#include "framework/engine.hpp"
#include "framework/errors.hpp"
#include "framework/io/npy.hpp"

#include <map>
#include <unordered_map>
#include <unordered_set>

namespace xgrad {

Tensor Module::operator()(const Tensor& x) {
    ScopeGuard scope(scope_name_);
    Tensor y = forward(x);
    for (const ForwardHook& hook : forward_hooks_) hook(*this, x, y);
    return y;
}

void Module::register_forward_hook(ForwardHook hook) {
    if (!hook) throw ValueError("Module::register_forward_hook: empty function");
    forward_hooks_.push_back(std::move(hook));
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_parameters()) out.push_back(t);
    return out;
}

namespace {
/// A tensor shared by two modules (a tied weight) once, under the name it is first met by: own
/// entries first, then the children's in registration order (as PyTorch's named_parameters).
using Named = std::vector<std::pair<std::string, Tensor>>;
Named without_repeats(Named entries) {
    std::unordered_set<const Node*> seen;
    std::erase_if(entries, [&](const auto& entry) { return !seen.insert(entry.second.node().get()).second; });
    return entries;
}
}  // namespace

void Module::check_names_free(const std::string& prefix, const Module& child) const {
    if (!prefix.empty() && !valid_npz_name(prefix))
        throw ValueError("register_module: the name '" + printable(prefix) + "' cannot be saved (it holds '/' or NUL)");
    std::unordered_map<std::string, const Node*> taken;
    for (const auto& [name, t] : named_state()) taken.emplace(name, t.node().get());
    for (const auto& [name, t] : child.named_state()) {
        const std::string full = prefix.empty() ? name : prefix + "." + name;
        if (auto at = taken.find(full); at != taken.end() && at->second != t.node().get())
            throw ValueError("register_module: " +
                             (prefix.empty() ? std::string("a module registered without a name")
                                             : "the module registered as '" + prefix + "'") +
                             " brings a parameter or buffer named '" + full + "', a name this module already has " +
                             "for another tensor; give the module a name (Sequential::add(layer, \"fc2\")) or " +
                             "its tensors other names");
    }
}

void Module::append_named(Named& out, const std::string& prefix, bool buffers) const {
    auto joined = [&](const std::string& name) { return prefix.empty() ? name : prefix + "." + name; };
    for (const auto& [name, t] : buffers ? buffers_ : parameters_) out.emplace_back(joined(name), t);
    for (const auto& [name, child] : children_) child->append_named(out, name.empty() ? prefix : joined(name), buffers);
}

// The whole tree collected first, its repeats removed once.
std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
    Named out;
    append_named(out, "", false);
    return without_repeats(std::move(out));
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
    Named out;
    append_named(out, "", true);
    return without_repeats(std::move(out));
}

std::vector<std::pair<std::string, Tensor>> Module::named_state() const {
    auto out = named_parameters();
    for (auto& entry : named_buffers()) out.push_back(std::move(entry));
    return out;
}

void Module::train(bool training) {
    training_ = training;
    for (auto& [name, child] : children_) child->train(training);
}

void Module::zero_grad() {
    for (Tensor t : parameters()) t.zero_grad();
}

namespace {
/// A parameter's or buffer's name must be savable (save_parameters writes it as an .npz member) and
/// not taken by another tensor: both found when the model is built, not when it is saved.
void check_name_free(const Module& module, const std::string& name, const Tensor& tensor, const char* who) {
    if (!valid_npz_name(name))
        throw ValueError(std::string(who) + ": the name '" + printable(name) + "' cannot be saved (an empty name, or "
                         "one with '/' or NUL)");
    for (const auto& [taken, t] : module.named_state())
        if (taken == name && t.node() != tensor.node())
            throw ValueError(std::string(who) + ": this module already has a parameter or buffer named '" + name + "'");
}
}  // namespace

Tensor Module::register_parameter(std::string name, Tensor tensor) {
    check_name_free(*this, name, tensor, "register_parameter");
    tensor.set_name(name);
    tensor.set_requires_grad(true);
    parameters_.emplace_back(std::move(name), tensor);
    return tensor;
}

Tensor Module::register_buffer(std::string name, Tensor tensor) {
    check_name_free(*this, name, tensor, "register_buffer");
    tensor.set_name(name);
    tensor.set_requires_grad(false);
    buffers_.emplace_back(std::move(name), tensor);
    return tensor;
}

Array init_weight(Init init, std::size_t out, std::size_t in, Generator& gen, DType dtype) {
    if (init == Init::zeros) return Array({out, in}, dtype);
    if (in == 0) throw ValueError("init_weight: a layer with 0 inputs cannot be initialised");
    double factor = 1.0;
    bool divide = false;
    switch (init) {
        case Init::course: factor = std::sqrt(static_cast<double>(in)); divide = true; break;
        case Init::he: factor = std::sqrt(2.0 / static_cast<double>(in)); break;
        case Init::xavier: factor = std::sqrt(2.0 / static_cast<double>(in + out)); break;
        case Init::zeros: break;
    }
    Array w = gen.randn({out, in});
    // The course divides (randn / sqrt(n)); dividing rather than multiplying by 1/sqrt(n) keeps its bits.
    for (std::size_t i = 0; i < w.size(); ++i) w.set_flat(i, divide ? w.flat(i) / factor : w.flat(i) * factor);
    return w.astype(dtype);
}

Linear::Linear(std::size_t in, std::size_t out, const LinearOptions& options) : layout_(options.layout) {
    Generator& gen = options.generator ? *options.generator : global_generator();
    weight = register_parameter(options.weight_name, Tensor(init_weight(options.init, out, in, gen, options.dtype)));
    const Shape bias_shape = layout_ == Layout::batch_first ? Shape{out} : Shape{out, 1};
    bias = register_parameter(options.bias_name, Tensor(Array(bias_shape, options.dtype)));
}

void Linear::check_input(const Tensor& x) const {
    if (layout_ == Layout::batch_first) {
        if (x.ndim() == 0 || x.shape().back() != weight.shape()[1])
            throw ShapeError("Linear(" + weight.name() + "): input of shape " + shape_str(x.shape()) +
                             " does not fit weight " + shape_str(weight.shape()) + " (expected (…, " +
                             std::to_string(weight.shape()[1]) + "): batch first)");
        return;
    }
    if (x.ndim() != 2 || x.shape()[0] != weight.shape()[1])
        throw ShapeError("Linear(" + weight.name() + "): input of shape " + shape_str(x.shape()) +
                         " does not fit weight " + shape_str(weight.shape()) + " (expected (" +
                         std::to_string(weight.shape()[1]) + ", m): features × examples)");
}

Tensor Linear::forward(const Tensor& x) {
    check_input(x);
    return xgrad::linear(x, weight, bias, layout_);
}

LinearReLUDropout::LinearReLUDropout(std::size_t in, std::size_t out, const LinearOptions& linear, DropoutOptions dropout)
    : Linear(in, out, linear), dropout(dropout) {
    dropout.validate("LinearReLUDropout");
}

Tensor LinearReLUDropout::forward(const Tensor& x) {
    check_input(x);
    DropoutOptions o = dropout;
    o.training = training();
    return linear_relu_dropout(x, weight, bias, layout(), o);
}

Dropout::Dropout(DropoutOptions options) : options(options) { options.validate("Dropout"); }

Tensor Dropout::forward(const Tensor& x) {
    DropoutOptions o = options;
    o.training = training();
    return dropout(x, o);
}

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (auto& layer : layers_) h = (*layer)(h);
    return h;
}

void save_parameters(const Module& module, const std::string& path) {
    std::map<std::string, Array> arrays;
    for (const auto& [name, t] : module.named_state())
        if (!arrays.emplace(name, t.value()).second)
            throw ValueError("save_parameters: two parameters or buffers are named '" + name + "'");
    save_npz(path, arrays);
}

void load_parameters(Module& module, const std::string& path) {
    std::map<std::string, Array> arrays = load_npz(path);
    auto named = module.named_state();
    // Check everything first, so a bad file leaves the module untouched.
    for (const auto& [name, t] : named) {
        const auto it = arrays.find(name);
        if (it == arrays.end()) throw IoError(path + ": parameter '" + name + "' is missing");
        if (it->second.shape() != t.shape())
            throw IoError(path + ": parameter '" + name + "' has shape " + shape_str(it->second.shape()) +
                          ", the model needs " + shape_str(t.shape()));
    }
    if (arrays.size() != named.size())
        for (const auto& [name, a] : arrays) {
            bool known = false;
            for (const auto& [n, t] : named) known = known || n == name;
            if (!known) throw IoError(path + ": holds '" + name + "', which the model has no parameter for");
        }
    for (auto& [name, t] : named) t.mutable_value() = arrays.at(name).astype(t.dtype());
}

Tensor l2_penalty(const std::vector<Tensor>& weights, double lambd, std::size_t m) {
    if (weights.empty()) throw ValueError("l2_penalty: no weights given");
    if (!(lambd >= 0.0) || !std::isfinite(lambd))
        throw ValueError("l2_penalty: lambd = " + std::to_string(lambd) + " must be finite and >= 0");
    if (m == 0) throw ValueError("l2_penalty: m (number of examples) must be positive");
    Tensor total = sum_of_squares(weights[0]);
    for (std::size_t i = 1; i < weights.size(); ++i) total = total + sum_of_squares(weights[i]);
    // The course's coefficient, computed in its order: (1/m · λ/2).
    return total * (1.0 / static_cast<double>(m) * lambd / 2.0);
}

}  // namespace xgrad
