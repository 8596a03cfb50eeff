#pragma once
// Node: one value in the dynamic graph. A leaf (no op) is a parameter, an input or a constant; an
// interior node remembers the op that made it and its ordered inputs (duplicates allowed: x * x).
// Ownership flows from outputs to inputs only, so a graph can never form a reference cycle.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "framework/array.hpp"
#include "framework/op.hpp"

namespace xgrad {

struct Node {
    Array value;
    /// Leaves: the gradient accumulated over backward calls (until zero_grad).
    /// Interior nodes: only transiently, while backward runs.
    Array grad;
    std::vector<std::shared_ptr<Node>> inputs;
    std::unique_ptr<Op> op;  // null for leaves
    std::string name;
    /// Return addresses of the call that recorded this node, captured only under anomaly
    /// detection; resolved to the user's file:line when an anomaly is reported.
    std::vector<void*> call_stack;
    /// The module path active when the op was recorded ("layer1"): DOT export draws it as a cluster.
    std::string scope;
    bool requires_grad = false;
    /// Set after a backward without retain_graph: the op's saved tensors are gone.
    bool released = false;
    /// ||grad||_2 seen by the last backward (NaN before any): DOT export can show it.
    double grad_norm = std::numeric_limits<double>::quiet_NaN();
    /// Scratch for graph walks (an epoch number, so no visited-set is allocated per walk).
    std::uint64_t visit_mark = 0;

    bool is_leaf() const { return !op; }

    Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    /// Iterative: dropping the last handle to a 100 000-op chain must not overflow the stack.
    ~Node();
};

/// A new, empty node. Its memory (with the shared_ptr's control block) comes from the graph's
/// small-object pool (framework/pool.hpp); every node is made here.
std::shared_ptr<Node> make_node();

}  // namespace xgrad
