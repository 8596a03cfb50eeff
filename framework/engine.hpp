#pragma once
// The engine: graph algorithms as free functions. Recording (apply_op) is the single registration
// point every non-leaf node is built through; backward walks the graph in reverse topological order.

#include <memory>
#include <string>
#include <vector>

#include "framework/tensor.hpp"

namespace xgrad {

/// Applies an op to its inputs: checks dtypes, runs forward, and — if grad mode is on and any input
/// requires grad — records a node holding the op and its ordered inputs. Custom ops use it too.
Tensor apply_op(std::unique_ptr<Op> op, const std::vector<Tensor>& inputs);

/// Every node reachable from root, each after all of its inputs (iterative DFS: no recursion,
/// so a chain of 100 000 ops is fine). Backward walks it in reverse; DOT export walks it forward.
std::vector<Node*> topological_order(const Node& root);

/// Reverse-mode autodiff: see Tensor::backward.
void backward(const Tensor& root, const Array* grad_out, const BackwardOptions& options);

/// Whether ops currently record graph nodes (thread-local; on by default).
bool grad_enabled();

/// RAII scope in which no op records a node: evaluation, optimizer updates, finite differences.
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

/// RAII scope naming the module whose ops are being recorded (nested scopes join with '/').
/// Module::operator() opens one; DOT export groups each scope's nodes into a cluster.
class ScopeGuard {
public:
    explicit ScopeGuard(const std::string& name);
    ~ScopeGuard();
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;

private:
    std::size_t previous_length_;
    bool active_;
};
/// The current scope path ("" outside any module).
const std::string& current_scope();

/// Opt-in NaN/Inf detection (like torch.autograd.detect_anomaly): every op's output and every
/// gradient is checked, and the first non-finite value raises AnomalyError naming the op, its
/// label, the shapes involved and where in the user's code the op was recorded (file:line, from
/// the call stack and the binary's debug information). Off (the default) it costs one branch per op.
bool anomaly_detection_enabled();
/// "file:line (function)" of the first frame of `call_stack` outside xgrad, or "" if unknown.
std::string user_call_site(const std::vector<void*>& call_stack);

class AnomalyGuard {
public:
    explicit AnomalyGuard(bool enabled = true);
    ~AnomalyGuard();
    AnomalyGuard(const AnomalyGuard&) = delete;
    AnomalyGuard& operator=(const AnomalyGuard&) = delete;

private:
    bool previous_;
};

}  // namespace xgrad
