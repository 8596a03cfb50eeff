#pragma once
// Op: what a graph node computes. Each op writes its forward and, right beside it, its backward:
// backward returns one gradient per input and never accumulates — the engine sums gradients and
// undoes broadcasting in one place (framework/engine.cpp).

#include <string>
#include <utility>
#include <vector>

#include "framework/array.hpp"

namespace xgrad {

/// The input values an op sees, in the order the op was called with.
using Inputs = std::vector<const Array*>;

/// One gradient per input. An undefined Array means "no gradient" (for inputs that do not need one).
/// A gradient may have the broadcast shape of the output: the engine reduces it to the input's shape.
using Grads = std::vector<Array>;

/// Everything a backward formula may use, in PyTorch's derivatives.yaml vocabulary.
struct BackwardArgs {
    /// dL/d(result). Not const: the engine discards it after this call, so an op whose gradient
    /// is grad_out itself (add, reshape...) may move it out instead of copying it.
    Array& grad_out;
    const Array& result;                  // the op's forward output
    const Inputs& inputs;                 // the op's input values
    const std::vector<bool>& needs_grad;  // which inputs want a gradient; skip the others' work
    bool wants(std::size_t i) const { return needs_grad[i]; }
};

class Op {
public:
    virtual ~Op() = default;

    /// Short name: "matmul", "dropout". Used in error messages and DOT.
    virtual std::string name() const = 0;
    /// The name with parameters, e.g. "dropout(keep_prob=0.86, constant)". Used by DOT export.
    virtual std::string label() const { return name(); }
    /// Key/value facts for DOT and reports (a dropout's measured scale, a reduction's axis...).
    virtual std::vector<std::pair<std::string, std::string>> attributes() const { return {}; }

    virtual Array forward(const Inputs& inputs) = 0;
    virtual Grads backward(const BackwardArgs& args) const = 0;

    /// Frees what forward saved for backward (masks, caches); called after a backward without
    /// retain_graph. Inputs and results belong to the nodes, not to the op.
    virtual void release_saved() {}
    /// Bytes held only for backward (a dropout's bit-packed mask, a softmax cache...).
    virtual std::size_t saved_bytes() const { return 0; }
};

}  // namespace xgrad
