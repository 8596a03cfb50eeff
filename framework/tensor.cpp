#include "framework/tensor.hpp"

#include <ostream>
#include <unordered_map>

#include "framework/engine.hpp"
#include "framework/errors.hpp"

namespace xgrad {

Tensor::Tensor(Array value, bool requires_grad, std::string name) : node_(make_node()) {
    if (!value.defined()) throw ValueError("Tensor: cannot wrap an undefined Array");
    if (requires_grad && !is_floating(value.dtype()))
        throw DTypeError("Tensor" + (name.empty() ? std::string() : " '" + name + "'") + ": an int64 " +
                         shape_str(value.shape()) + " tensor cannot require grad (only float32 and float64 are "
                         "differentiable)");
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
    node_->name = std::move(name);
}

Node& Tensor::node_ref() const {
    if (!node_) throw GraphError("Tensor: use of an undefined (default-constructed) Tensor");
    return *node_;
}

const Array& Tensor::value() const { return node_ref().value; }

Array& Tensor::mutable_value() {
    Node& n = node_ref();
    if (!n.is_leaf())
        throw GraphError("Tensor::mutable_value: '" + n.op->label() +
                         "' is not a leaf; only leaves (parameters, inputs) may be edited in place");
    return n.value;
}

bool Tensor::requires_grad() const { return node_ref().requires_grad; }

Tensor& Tensor::set_requires_grad(bool requires_grad) {
    Node& n = node_ref();
    if (!n.is_leaf())
        throw GraphError("Tensor::set_requires_grad: '" + n.op->label() + "' is not a leaf; detach() it first");
    if (requires_grad && !is_floating(n.value.dtype()))
        throw DTypeError("Tensor::set_requires_grad: '" + n.name + "' holds int64 " + shape_str(n.value.shape()) +
                         "; only float32 and float64 tensors are differentiable");
    n.requires_grad = requires_grad;
    return *this;
}

const std::string& Tensor::name() const { return node_ref().name; }

Tensor& Tensor::set_name(std::string name) {
    node_ref().name = std::move(name);
    return *this;
}

bool Tensor::is_leaf() const { return node_ref().is_leaf(); }

const Array& Tensor::grad() const { return node_ref().grad; }

void Tensor::zero_grad() { node_ref().grad = Array(); }

Tensor& Tensor::register_hook(GradHook hook) {
    if (!hook) throw ValueError("Tensor::register_hook: empty function");
    Node& n = node_ref();
    if (!n.requires_grad)
        throw GraphError("Tensor::register_hook: '" + n.name + "' does not require grad, so no backward reaches it");
    if (!n.hooks) n.hooks = std::make_unique<NodeHooks>();
    n.hooks->on_gradient.push_back(std::move(hook));
    return *this;
}

Tensor& Tensor::register_grad_ready_hook(GradReadyHook hook) {
    if (!hook) throw ValueError("Tensor::register_grad_ready_hook: empty function");
    Node& n = node_ref();
    if (!n.is_leaf() || !n.requires_grad)
        throw GraphError("Tensor::register_grad_ready_hook: only a leaf that requires grad accumulates a gradient ('" +
                         (n.is_leaf() ? n.name : n.op->label()) + "' does not)");
    if (!n.hooks) n.hooks = std::make_unique<NodeHooks>();
    n.hooks->on_ready.push_back(std::move(hook));
    return *this;
}

void Tensor::clear_hooks() { node_ref().hooks.reset(); }

Array& Tensor::mutable_grad() {
    Node& n = node_ref();
    if (!n.is_leaf())
        throw GraphError("Tensor::mutable_grad: '" + n.op->label() + "' is not a leaf; only leaves keep a gradient");
    return n.grad;
}

void Tensor::backward(const BackwardOptions& options) const { xgrad::backward(*this, nullptr, options); }

void Tensor::backward(const Array& grad_out, const BackwardOptions& options) const {
    xgrad::backward(*this, &grad_out, options);
}

Tensor Tensor::detach() const { return Tensor(value(), false, name()); }

Tensor parameter(Array value, std::string name) { return Tensor(std::move(value), true, std::move(name)); }
Tensor constant(Array value, std::string name) { return Tensor(std::move(value), false, std::move(name)); }

void check_distinct(const std::vector<Tensor>& parameters, const std::string& who) {
    std::unordered_map<const Node*, std::size_t> first;
    first.reserve(parameters.size());
    for (std::size_t k = 0; k < parameters.size(); ++k) {
        const Node* node = parameters[k].node().get();
        if (!node) continue;  // an undefined tensor: the caller's own check names it
        if (auto [at, inserted] = first.emplace(node, k); !inserted)
            throw ValueError(who + ": parameters " + std::to_string(at->second) + " and " + std::to_string(k) +
                             " are the same tensor" +
                             (parameters[k].name().empty() ? std::string() : " ('" + parameters[k].name() + "')") +
                             "; list a shared (tied) weight once, as Module::parameters() does");
    }
}

namespace {
std::string quoted(const std::string& text) {
    std::string s = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') s += '\\';
        s += c;
    }
    return s + '"';
}

}  // namespace

std::string to_string(const Tensor& tensor, const PrintOptions& options) {
    if (!tensor.defined()) return "tensor(undefined)";
    const Array& value = tensor.value();
    return "tensor(" + detail::format_values(value, options, "tensor(") + ", dtype=" + dtype_name(value.dtype()) +
           ", shape=" + shape_str(value.shape()) + ", requires_grad=" + (tensor.requires_grad() ? "true" : "false") +
           (tensor.name().empty() ? "" : ", name=" + quoted(tensor.name())) + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& tensor) { return os << to_string(tensor); }

}  // namespace xgrad
