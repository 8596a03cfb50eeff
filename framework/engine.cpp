#include "framework/engine.hpp"

#include <dlfcn.h>
#include <execinfo.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <sstream>

#include "framework/errors.hpp"
#include "framework/pool.hpp"
#include "framework/xt.hpp"

namespace xgrad {

namespace {
thread_local bool t_grad_enabled = true;
thread_local bool t_anomaly_detection = false;
thread_local std::string t_scope;
std::atomic<std::uint64_t> g_walk_epoch{0};

std::vector<void*> capture_call_stack() {
    std::vector<void*> frames(32);
    frames.resize(static_cast<std::size_t>(::backtrace(frames.data(), static_cast<int>(frames.size()))));
    return frames;
}

/// addr2line's answer for an address inside `file`: {function, "file:line"} for the address and
/// then for each function it was inlined into, innermost first.
std::vector<std::pair<std::string, std::string>> addr2line(const std::string& file, std::uintptr_t offset) {
    char command[1024];
    std::snprintf(command, sizeof command, "addr2line -C -f -i -e '%s' 0x%lx 2>/dev/null", file.c_str(),
                  static_cast<unsigned long>(offset));
    std::vector<std::pair<std::string, std::string>> out;
    std::FILE* pipe = ::popen(command, "r");
    if (!pipe) return out;
    char function[4096], location[4096];
    auto chomp = [](const char* s) {
        std::string t = s;
        while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
        return t;
    };
    while (std::fgets(function, sizeof function, pipe) && std::fgets(location, sizeof location, pipe))
        out.emplace_back(chomp(function), chomp(location));
    ::pclose(pipe);
    return out;
}

bool is_framework_function(const std::string& function) {
    return function.rfind("xgrad::", 0) == 0 && function.rfind("xgrad::test", 0) != 0 &&
           function.rfind("xgrad::examples", 0) != 0;
}

std::string describe(const Node& node) {
    std::string s = node.op ? "op '" + node.op->label() + "'" : "leaf";
    if (!node.name.empty()) s += " '" + node.name + "'";
    return s + " of shape " + shape_str(node.value.shape());
}

std::string where(const std::vector<void*>& call_stack) {
    const std::string site = user_call_site(call_stack);
    return site.empty() ? "" : " (recorded at " + site + ")";
}

void check_finite(const Array& a, const Node& node, const char* what) {
    if (!detail::all_finite(a))
        throw AnomalyError(std::string("anomaly detected: non-finite value in ") + what + " of " + describe(node) +
                           where(node.call_stack));
}

void accumulate(Node& node, Array grad) {
    if (!node.grad.defined())
        node.grad = std::move(grad);
    else
        detail::add_in_place(node.grad, grad);
}
}  // namespace

std::shared_ptr<Node> make_node() { return std::allocate_shared<Node>(detail::PoolAllocator<Node>()); }

Node::~Node() {
    // Unwind uniquely-owned inputs with an explicit stack instead of recursive destructors.
    std::vector<std::shared_ptr<Node>> pending = std::move(inputs);
    while (!pending.empty()) {
        std::shared_ptr<Node> n = std::move(pending.back());
        pending.pop_back();
        if (n && n.use_count() == 1) {
            for (auto& in : n->inputs) pending.push_back(std::move(in));
            n->inputs.clear();
        }
    }
}

std::string user_call_site(const std::vector<void*>& call_stack) {
    for (void* frame : call_stack) {
        Dl_info info{};
        if (!::dladdr(frame, &info) || !info.dli_fname) continue;
        const std::string file = info.dli_fname;
        const std::string base = file.substr(file.find_last_of('/') + 1);
        // Framework, C/C++ runtime and sanitizer-runtime frames are not where the user recorded the op.
        static const char* const skipped[] = {"libxgrad", "libc.", "libstdc++", "libasan", "libubsan", "libtsan", "liblsan"};
        if (std::any_of(std::begin(skipped), std::end(skipped), [&](const char* p) { return base.rfind(p, 0) == 0; }))
            continue;
        // A return address points just after the call; look up the call instruction itself.
        const auto address = reinterpret_cast<std::uintptr_t>(frame) - 1;
        const bool shared_object = base.find(".so") != std::string::npos;
        std::uintptr_t offset = address - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
        if (!shared_object) {
            // A non-PIE executable is linked at its run address; a PIE one is offset like a library.
            const auto base_address = reinterpret_cast<std::uintptr_t>(info.dli_fbase);
            if (base_address == 0x400000) offset = address;
        }
        for (const auto& [function, location] : addr2line(file, offset)) {
            // Frames of xgrad code (inlined operators, a statically linked framework) are skipped too.
            if (is_framework_function(function)) continue;
            std::string site = location;
            if (const auto discriminator = site.find(" (discriminator"); discriminator != std::string::npos)
                site.resize(discriminator);
            if (site.empty() || site.rfind("??", 0) == 0) {
                char hex[32];
                std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(offset));
                return base + "+" + hex + " (no debug information for file:line)";
            }
            return site + (function.empty() || function == "??" ? "" : " in " + function);
        }
    }
    return {};
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

Tensor apply_op(std::unique_ptr<Op> op, const std::vector<Tensor>& inputs) {
    Inputs values;
    values.reserve(inputs.size());
    bool any_requires_grad = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined())
            throw GraphError(op->name() + ": input " + std::to_string(i) + " is an undefined Tensor");
        values.push_back(&inputs[i].value());
        any_requires_grad = any_requires_grad || inputs[i].requires_grad();
        if (values[i]->dtype() != values[0]->dtype())
            throw DTypeError(op->name() + ": input 0 is " + dtype_name(values[0]->dtype()) + " " +
                             shape_str(values[0]->shape()) + " but input " + std::to_string(i) + " is " +
                             dtype_name(values[i]->dtype()) + " " + shape_str(values[i]->shape()) +
                             "; convert one explicitly with astype()");
    }
    auto node = make_node();
    node->value = op->forward(values);
    if (t_anomaly_detection) {
        node->call_stack = capture_call_stack();
        if (!detail::all_finite(node->value)) {
            std::ostringstream os;
            os << "anomaly detected: forward of op '" << op->label() << "' produced a non-finite value (output "
               << shape_str(node->value.shape()) << ", inputs";
            for (const Array* v : values) os << " " << shape_str(v->shape());
            os << ")" << where(node->call_stack);
            throw AnomalyError(os.str());
        }
    }
    if (any_requires_grad && t_grad_enabled) {
        node->requires_grad = true;
        node->op = std::move(op);
        node->scope = t_scope;
        node->inputs.reserve(inputs.size());
        for (const Tensor& t : inputs) node->inputs.push_back(t.node());
    }
    return Tensor(std::move(node));
}

std::vector<Node*> topological_order(const Node& root) {
    const std::uint64_t epoch = ++g_walk_epoch;
    std::vector<Node*> order;
    // Each frame: a node and the index of the next input to visit.
    std::vector<std::pair<Node*, std::size_t>> stack;
    Node* start = const_cast<Node*>(&root);
    start->visit_mark = epoch;
    stack.emplace_back(start, 0);
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->inputs.size()) {
            Node* input = node->inputs[next++].get();
            if (input->visit_mark != epoch) {
                input->visit_mark = epoch;
                stack.emplace_back(input, 0);
            }
        } else {
            order.push_back(node);
            stack.pop_back();
        }
    }
    return order;
}

void backward(const Tensor& root, const Array* grad_out, const BackwardOptions& options) {
    if (!root.defined()) throw GraphError("backward: called on an undefined Tensor");
    Node& r = root.node_ref();
    if (!r.requires_grad)
        throw GraphError("backward: " + describe(r) +
                         " does not require grad (no input of its graph requires grad, or it was computed "
                         "under NoGradGuard)");
    Array seed;
    if (grad_out) {
        if (grad_out->shape() != r.value.shape() || grad_out->dtype() != r.value.dtype())
            throw ShapeError("backward: upstream gradient is " + std::string(dtype_name(grad_out->dtype())) + " " +
                             shape_str(grad_out->shape()) + " but the tensor is " + dtype_name(r.value.dtype()) +
                             " " + shape_str(r.value.shape()));
        seed = *grad_out;
    } else {
        if (r.value.size() != 1)
            throw GraphError("backward: " + describe(r) +
                             " is not a scalar; pass an upstream gradient of the same shape");
        seed = Array::ones(r.value.shape(), r.value.dtype());
    }

    const std::vector<Node*> order = topological_order(r);
    for (const Node* n : order)
        if (n->released)
            throw GraphError("backward: the graph through " + describe(*n) +
                             " was already released by an earlier backward; pass retain_graph=true to the "
                             "first backward to run it twice");

    accumulate(r, std::move(seed));
    std::vector<bool> needs;
    Inputs values;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node& n = **it;
        if (n.is_leaf()) {
            if (n.grad.defined() && options.record_grad_norms) n.grad_norm = detail::l2_norm(n.grad);
            continue;
        }
        if (!n.requires_grad || !n.grad.defined()) continue;
        needs.assign(n.inputs.size(), false);
        values.clear();
        for (std::size_t i = 0; i < n.inputs.size(); ++i) {
            needs[i] = n.inputs[i]->requires_grad;
            values.push_back(&n.inputs[i]->value);
        }
        if (options.record_grad_norms) n.grad_norm = detail::l2_norm(n.grad);  // before backward may move it
        Grads grads = n.op->backward(BackwardArgs{n.grad, n.value, values, needs});
        if (grads.size() != n.inputs.size())
            throw GraphError("backward of op '" + n.op->name() + "' returned " + std::to_string(grads.size()) +
                             " gradients for " + std::to_string(n.inputs.size()) + " inputs");
        for (std::size_t i = 0; i < grads.size(); ++i) {
            if (!needs[i] || !grads[i].defined()) continue;
            Node& input = *n.inputs[i];
            // The op's name is only needed to report a failed reduction: not built per node per step.
            Array g = grads[i].shape() == input.value.shape()
                          ? std::move(grads[i])
                          : detail::sum_to_shape(std::move(grads[i]), input.value.shape(), n.op->name().c_str());
            if (t_anomaly_detection) check_finite(g, n, ("gradient for input " + std::to_string(i)).c_str());
            accumulate(input, std::move(g));
        }
        n.grad = Array();
        if (!options.retain_graph) {
            n.op->release_saved();
            n.released = true;
        }
    }
}

}  // namespace xgrad
