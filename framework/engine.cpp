#include "framework/engine.hpp"

#include <array>
#include <mutex>

#include "framework/anomaly.hpp"
#include "framework/errors.hpp"
#include "framework/memory.hpp"
#include "framework/kernels.hpp"

namespace xgrad {

namespace {
thread_local bool t_grad_enabled = true;
thread_local std::string t_scope;
// Read once per op and once per gradient: kept beside the other per-thread modes, where the read is
// a plain thread-local load (anomaly reporting itself lives in framework/anomaly.cpp).
thread_local bool t_anomaly_detection = false;

using detail::describe;
using detail::recorded_at;

/// Leaves outlive a backward and may be shared by graphs that run backward on different threads
/// (two losses over one model): their gradients are summed under a lock. Striped by address, so
/// unrelated leaves rarely share one; uncontended, a lock costs tens of nanoseconds per leaf.
std::mutex& leaf_lock(const Node& leaf) {
    static std::array<std::mutex, 64> locks;
    return locks[(reinterpret_cast<std::uintptr_t>(&leaf) >> 6) % locks.size()];
}

void accumulate(Array& total, Array grad) {
    if (!total.defined())
        total = std::move(grad);
    else
        kernels::add_in_place(total, grad);
}

void accumulate_leaf(Node& leaf, Array grad, bool record_norm) {
    std::lock_guard<std::mutex> lock(leaf_lock(leaf));
    accumulate(leaf.grad, std::move(grad));
    if (record_norm) leaf.grad_norm = kernels::l2_norm(leaf.grad);
    if (leaf.hooks)
        for (const GradReadyHook& ready : leaf.hooks->on_ready) ready(leaf.grad);
}

/// A node's gradient hooks, in order; each may replace the gradient (checked to keep its shape).
void run_gradient_hooks(const Node& n, Array& grad) {
    for (const GradHook& hook : n.hooks->on_gradient) {
        Array replaced = hook(grad);
        if (!replaced.defined()) continue;
        if (replaced.shape() != grad.shape() || replaced.dtype() != grad.dtype())
            throw GraphError("backward: a gradient hook on " + std::string(n.is_leaf() ? "'" + n.name + "'" : n.op->label()) +
                             " returned " + dtype_name(replaced.dtype()) + " " + shape_str(replaced.shape()) +
                             " for a gradient of " + dtype_name(grad.dtype()) + " " + shape_str(grad.shape()));
        grad = std::move(replaced);
    }
}

/// Node -> position in a walk, for the walk's own bookkeeping: an open-addressing table local to
/// the walk (never a mark stored in the nodes, so two threads may walk one graph at once).
class NodeIndex {
public:
    explicit NodeIndex(std::size_t expected) {
        std::size_t capacity = 16;
        while (capacity < 2 * expected) capacity *= 2;
        slots_.assign(capacity, {nullptr, 0});
    }
    /// Inserts `node` with `position` unless present; returns whether it was inserted.
    bool insert(const Node* node, std::size_t position) {
        if (2 * (count_ + 1) > slots_.size()) grow();
        auto& slot = find_slot(node);
        if (slot.first) return false;
        slot = {node, position};
        ++count_;
        return true;
    }
    std::size_t at(const Node* node) const { return const_cast<NodeIndex*>(this)->find_slot(node).second; }
    void set(const Node* node, std::size_t position) { find_slot(node).second = position; }

private:
    std::pair<const Node*, std::size_t>& find_slot(const Node* node) {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = (reinterpret_cast<std::uintptr_t>(node) >> 4) * 0x9E3779B97F4A7C15ull >> 20 & mask;
        while (slots_[i].first && slots_[i].first != node) i = (i + 1) & mask;
        return slots_[i];
    }
    void grow() {
        std::vector<std::pair<const Node*, std::size_t>> old(slots_.size() * 2, {nullptr, 0});
        old.swap(slots_);
        count_ = 0;
        for (const auto& [node, position] : old)
            if (node) insert(node, position);
    }
    std::vector<std::pair<const Node*, std::size_t>> slots_;
    std::size_t count_ = 0;
};

/// Every node reachable from root, each after all of its inputs, and where each one stands.
std::vector<Node*> walk(const Node& root, NodeIndex& index, std::size_t expected) {
    // Sized for the expected walk (the last one's size), not grown by doubling: each doubling was
    // a heap allocation, a dozen of them per step of a small net.
    std::vector<Node*> order;
    order.reserve(expected);
    // Each frame: a node and the index of the next input to visit. Positions are filled in when a
    // node is emitted; the table only marks "seen" until then.
    std::vector<std::pair<Node*, std::size_t>> stack;
    stack.reserve(expected);
    Node* start = const_cast<Node*>(&root);
    index.insert(start, 0);
    stack.emplace_back(start, 0);
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->inputs.size()) {
            Node* input = node->inputs[next++].get();
            if (index.insert(input, 0)) stack.emplace_back(input, 0);
        } else {
            index.set(node, order.size());
            order.push_back(node);
            stack.pop_back();
        }
    }
    return order;
}

/// Raises if a value this node's backward reads was written in place after the op was recorded.
void check_versions(const Node& n) {
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
        const Edge& in = n.inputs[i];
        if (in->value.version() == in.version) continue;
        // Replaced by an array of another shape or dtype: refused even where backward reads no value,
        // since it still reads the shapes the op recorded (a gradient reduced to the new shape would
        // be one for another graph).
        if (Array::layout_generation(in->value.version()) != Array::layout_generation(in.version))
            throw GraphError("backward of op '" + n.op->label() + "': input " + std::to_string(i) + " (" +
                             describe(*in) + ") was replaced by an array of another shape or dtype after the op "
                             "used it, so its gradient would be wrong. Run the forward pass again after the edit." +
                             recorded_at(n.call_stack));
        if (n.op->backward_reads_input(i))
            throw GraphError("backward of op '" + n.op->label() + "': input " + std::to_string(i) + " (" +
                             describe(*in) + ") was modified in place after the op used it (version " +
                             std::to_string(in.version) + " then, " + std::to_string(in->value.version()) +
                             " now), so its gradient would be wrong. Run the forward pass again after the edit, "
                             "or edit a copy." + recorded_at(n.call_stack));
    }
    if (n.value.version() != n.value_version && n.op->backward_reads_result())
        throw GraphError("backward of op '" + n.op->label() + "': its result (" + describe(n) +
                         ") was modified in place (version " + std::to_string(n.value_version) + " then, " +
                         std::to_string(n.value.version()) + " now)" + recorded_at(n.call_stack));
}
}  // namespace

std::shared_ptr<Node> make_node() { return std::allocate_shared<Node>(detail::NodeAllocator<Node>()); }

Node::~Node() {
    // Unwind uniquely-owned inputs with an explicit stack instead of recursive destructors.
    std::vector<std::shared_ptr<Node>> pending;
    pending.reserve(inputs.size());
    for (Edge& in : inputs) pending.push_back(std::move(in.node));
    while (!pending.empty()) {
        std::shared_ptr<Node> n = std::move(pending.back());
        pending.pop_back();
        if (n && n.use_count() == 1) {
            for (Edge& in : n->inputs) pending.push_back(std::move(in.node));
            n->inputs.clear();
        }
    }
}

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

ScopeGuard::ScopeGuard(const std::string& name) : previous_length_(t_scope.size()), active_(!name.empty()) {
    if (active_) t_scope += (t_scope.empty() ? "" : "/") + name;
}
ScopeGuard::~ScopeGuard() {
    if (active_) t_scope.resize(previous_length_);
}
const std::string& current_scope() { return t_scope; }

bool anomaly_detection_enabled() { return t_anomaly_detection; }
AnomalyGuard::AnomalyGuard(bool enabled) : previous_(t_anomaly_detection) { t_anomaly_detection = enabled; }
AnomalyGuard::~AnomalyGuard() { t_anomaly_detection = previous_; }


namespace {

/// The dtype rules of Op::input_kind, checked before forward so every op's errors name it.
void check_input_dtypes(const Op& op, const Inputs& values) {
    const Array* first = nullptr;  // the first floating or `any` input: the others must match it
    std::size_t first_index = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const Array& v = *values[i];
        const Op::InputKind kind = op.input_kind(i);
        if (kind == Op::InputKind::mask) continue;
        if (kind == Op::InputKind::integer) {
            if (v.dtype() != DType::i64)
                throw DTypeError(op.name() + ": input " + std::to_string(i) + " holds indices or labels and must be "
                                 "int64, got " + dtype_name(v.dtype()) + " " + shape_str(v.shape()) +
                                 " (convert with astype(x, DType::i64))");
            continue;
        }
        if (kind == Op::InputKind::floating && !is_floating(v.dtype()))
            throw DTypeError(op.name() + ": input " + std::to_string(i) + " is int64 " + shape_str(v.shape()) +
                             " but this op needs float32 or float64 (int64 holds labels and indices, which are not "
                             "differentiable; convert with astype)");
        if (!first) {
            first = &v;
            first_index = i;
        } else if (v.dtype() != first->dtype()) {
            throw DTypeError(op.name() + ": input " + std::to_string(first_index) + " is " +
                             dtype_name(first->dtype()) + " " + shape_str(first->shape()) + " but input " +
                             std::to_string(i) + " is " + dtype_name(v.dtype()) + " " + shape_str(v.shape()) +
                             "; convert one explicitly with astype()");
        }
    }
}

}  // namespace

Tensor apply_op(std::unique_ptr<Op> op, const std::vector<Tensor>& inputs) {
    Inputs values;
    values.reserve(inputs.size());
    bool any_requires_grad = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined())
            throw GraphError(op->name() + ": input " + std::to_string(i) + " is an undefined Tensor");
        values.push_back(&inputs[i].value());
        any_requires_grad = any_requires_grad || inputs[i].requires_grad();
    }
    check_input_dtypes(*op, values);
    auto node = make_node();
    node->value = op->forward(values);
    if (t_anomaly_detection) {
        node->call_stack = detail::capture_call_stack();
        detail::check_forward(*op, node->value, values, node->call_stack);
    }
    if (any_requires_grad && t_grad_enabled) {
        node->requires_grad = true;
        node->op = std::move(op);
        node->scope = t_scope;
        node->inputs.reserve(inputs.size());
        for (const Tensor& t : inputs) node->inputs.push_back(Edge{t.node(), t.value().version()});
        node->value_version = node->value.version();
    }
    return Tensor(std::move(node));
}

/// The size of this thread's last walk: the next one (a training loop walks the same graph every
/// step) starts with a table that fits, instead of growing it several times.
thread_local std::size_t t_last_walk = 64;

std::vector<Node*> topological_order(const Node& root) {
    NodeIndex index(t_last_walk);
    return walk(root, index, t_last_walk);
}

namespace {

/// d root / d root: ones for a scalar root, or the caller's upstream gradient (checked).
Array seed_gradient(const Node& r, const Array* grad_out) {
    if (!r.requires_grad)
        throw GraphError("backward: " + describe(r) +
                         " does not require grad (no input of its graph requires grad, or it was computed "
                         "under NoGradGuard)");
    if (grad_out) {
        if (grad_out->shape() != r.value.shape() || grad_out->dtype() != r.value.dtype())
            throw ShapeError("backward: upstream gradient is " + std::string(dtype_name(grad_out->dtype())) + " " +
                             shape_str(grad_out->shape()) + " but the tensor is " + dtype_name(r.value.dtype()) +
                             " " + shape_str(r.value.shape()));
        return *grad_out;
    }
    if (r.value.size() != 1)
        throw GraphError("backward: " + describe(r) + " is not a scalar; pass an upstream gradient of the same shape");
    return Array::ones(r.value.shape(), r.value.dtype());
}

void check_not_released(const std::vector<Node*>& order) {
    for (const Node* n : order)
        if (const Release state = n->released.load(std::memory_order_acquire); state != Release::kept)
            throw GraphError("backward: the graph through " + describe(*n) +
                             (state == Release::failed
                                  ? " was released by an earlier backward that stopped with an error (see that "
                                    "error; leaves may hold part of its gradients). Zero the gradients and run "
                                    "the forward pass again"
                                  : " was already released by an earlier backward; pass retain_graph=true to the "
                                    "first backward to run it twice"));
}

/// One interior node: its op's backward, each input's gradient reduced to the input's shape and
/// added to that input's slot of `grads_of`.
/// Scratch reused from node to node of one backward (no allocation per node).
struct Scratch {
    std::vector<bool> needs;
    Inputs values;
};

void backward_through(Node& n, Array& grad, std::vector<Array>& grads_of, const NodeIndex& index,
                      const BackwardOptions& options, Scratch& scratch) {
    check_versions(n);
    std::vector<bool>& needs = scratch.needs;
    Inputs& values = scratch.values;
    needs.assign(n.inputs.size(), false);
    values.clear();
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
        needs[i] = n.inputs[i]->requires_grad;
        values.push_back(&n.inputs[i]->value);
    }
    if (options.record_grad_norms) n.grad_norm = kernels::l2_norm(grad);  // before backward may move it
    Grads grads = n.op->backward(BackwardArgs{grad, n.value, values, needs});
    if (grads.size() != n.inputs.size())
        throw GraphError("backward of op '" + n.op->name() + "' returned " + std::to_string(grads.size()) +
                         " gradients for " + std::to_string(n.inputs.size()) + " inputs");
    for (std::size_t i = 0; i < grads.size(); ++i) {
        if (!needs[i] || !grads[i].defined()) continue;
        Node& input = *n.inputs[i];
        // The op's name is only needed to report a failed reduction: not built per node per step.
        Array g = grads[i].shape() == input.value.shape()
                      ? std::move(grads[i])
                      : kernels::sum_to_shape(std::move(grads[i]), input.value.shape(), n.op->name().c_str());
        if (t_anomaly_detection) detail::check_gradient(g, n, i);
        accumulate(grads_of[index.at(&input)], std::move(g));
    }
    grad = Array();
}

}  // namespace

void backward(const Tensor& root, const Array* grad_out, const BackwardOptions& options) {
    if (!root.defined()) throw GraphError("backward: called on an undefined Tensor");
    Node& r = root.node_ref();
    Array seed = seed_gradient(r, grad_out);
    NodeIndex index(t_last_walk);
    const std::vector<Node*> order = walk(r, index, t_last_walk);
    t_last_walk = order.size();
    check_not_released(order);

    // Interior gradients live here, one slot per node of this walk, not in the nodes: a graph
    // shared by two threads' backward passes (retain_graph) is only read, never written.
    std::vector<Array> grads_of(order.size());
    grads_of.back() = std::move(seed);  // the root is emitted last
    std::vector<Node*> released;
    if (!options.retain_graph) released.reserve(order.size());
    Scratch scratch;
    try {
        for (std::size_t k = order.size(); k-- > 0;) {
            Node& n = *order[k];
            Array& grad = grads_of[k];
            if (!grad.defined() || !n.requires_grad) continue;
            if (n.hooks && !n.hooks->on_gradient.empty()) run_gradient_hooks(n, grad);
            if (n.is_leaf()) {
                accumulate_leaf(n, std::move(grad), options.record_grad_norms);
                continue;
            }
            backward_through(n, grad, grads_of, index, options, scratch);
            if (!options.retain_graph) {
                // Claimed once: of two backward passes racing through one graph, one releases it.
                if (n.released.exchange(Release::done, std::memory_order_acq_rel) == Release::kept) n.op->release_saved();
                released.push_back(&n);
            }
        }
    } catch (...) {
        for (Node* n : released) n->released.store(Release::failed, std::memory_order_release);
        throw;
    }
}

}  // namespace xgrad
