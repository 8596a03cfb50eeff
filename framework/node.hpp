#pragma once
// Node: one value in the dynamic graph. A leaf (no op) is a parameter, an input or a constant; an
// interior node remembers the op that made it and its ordered inputs (duplicates allowed: x * x).
// Ownership flows from outputs to inputs only, so a graph can never form a reference cycle.

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "framework/array.hpp"
#include "framework/op.hpp"

namespace xgrad {

struct Node;

/// Runs with a tensor's gradient when backward computes it: may return a replacement (same shape
/// and dtype) or an undefined Array to keep it.
using GradHook = std::function<Array(const Array& grad)>;
/// Runs on a leaf after backward has added the pass's gradient into it, with that accumulated,
/// writable gradient: the "gradient ready" point (data-parallel training starts reducing there).
using GradReadyHook = std::function<void(Array& grad)>;

/// A node's hooks: allocated only for the few nodes that have any, so a node stays small.
struct NodeHooks {
    std::vector<GradHook> on_gradient;
    std::vector<GradReadyHook> on_ready;
};

/// An input of a recorded op: the node, and the version its value had when the op was recorded.
/// Backward compares it with the value's version now, so an in-place edit in between (an optimizer
/// step, load_parameters, set_flat) raises instead of silently giving a wrong gradient.
struct Edge {
    std::shared_ptr<Node> node;
    std::uint64_t version = 0;

    Node* get() const { return node.get(); }
    Node* operator->() const { return node.get(); }
    Node& operator*() const { return *node; }
};

/// What backward has done to a node's saved tensors.
enum class Release : std::uint8_t {
    kept,    ///< still there: backward may run (again)
    done,    ///< freed by a backward without retain_graph
    failed,  ///< freed by a backward that then stopped with an error (an AnomalyError, say)
};

struct Node {
    Array value;
    /// Leaves: the gradient accumulated over backward calls (until zero_grad).
    /// Interior nodes: only transiently, while backward runs.
    Array grad;
    std::vector<Edge> inputs;
    std::unique_ptr<Op> op;  // null for leaves
    std::string name;
    /// Return addresses of the call that recorded this node, captured only under anomaly
    /// detection; resolved to the user's file:line when an anomaly is reported.
    std::vector<void*> call_stack;
    /// The module path active when the op was recorded ("layer1"): DOT export draws it as a cluster.
    std::string scope;
    bool requires_grad = false;
    /// Set by a backward without retain_graph: the op's saved tensors are gone. Atomic because
    /// backward runs on any thread; the release itself is claimed once.
    std::atomic<Release> released{Release::kept};
    std::unique_ptr<NodeHooks> hooks;  // null: none (the common case)
    /// The version of `value` when the op recorded it (an op's backward may read its own result).
    std::uint64_t value_version = 0;
    /// ||grad||_2 seen by the last backward with record_grad_norms (NaN before any): DOT export
    /// can show it.
    double grad_norm = std::numeric_limits<double>::quiet_NaN();

    bool is_leaf() const { return !op; }

    Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    /// Iterative: dropping the last handle to a 100 000-op chain must not overflow the stack.
    ~Node();
};

/// A new, empty node. Its memory (with the shared_ptr's control block) comes from the graph's
/// allocator (framework/memory.hpp); every node is made here.
std::shared_ptr<Node> make_node();

}  // namespace xgrad
