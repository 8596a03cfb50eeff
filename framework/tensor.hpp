#pragma once
// Tensor: the handle users hold. Copying a Tensor copies the handle, not the data; ops applied to
// tensors that require grad record graph nodes (define-by-run).

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "framework/array.hpp"
#include "framework/node.hpp"

namespace xgrad {

struct BackwardOptions {
    /// Keep the ops' saved tensors so backward can run through this graph again.
    bool retain_graph = false;
    /// Record ||grad||₂ on every node this backward reaches (for DOT export's grad_norms). Off by
    /// default: it is an extra pass over every gradient.
    bool record_grad_norms = false;
};

/// A target shape for reshape: sizes, of which one may be -1 (inferred from the element count).
struct NewShape {
    std::vector<std::int64_t> sizes;
    NewShape(std::initializer_list<std::int64_t> sizes) : sizes(sizes) {}  // NOLINT: reshape(x, {-1, 4})
    NewShape(const Shape& shape) : sizes(shape.begin(), shape.end()) {}    // NOLINT: reshape(x, y.shape())
};

class Tensor {
public:
    Tensor() = default;
    explicit Tensor(Array value, bool requires_grad = false, std::string name = {});
    explicit Tensor(std::shared_ptr<Node> node) : node_(std::move(node)) {}

    bool defined() const { return node_ != nullptr; }
    const Array& value() const;
    /// In-place access to a leaf's value, for optimizers and the gradient checker.
    /// Throws GraphError on an interior node: editing it would silently desynchronise the graph.
    Array& mutable_value();

    const Shape& shape() const { return value().shape(); }
    DType dtype() const { return value().dtype(); }
    std::size_t size() const { return value().size(); }
    std::size_t ndim() const { return value().ndim(); }
    double item() const { return value().item(); }

    bool requires_grad() const;
    /// Only leaves can be switched; interior nodes inherit requires_grad from their inputs.
    Tensor& set_requires_grad(bool requires_grad = true);
    const std::string& name() const;
    Tensor& set_name(std::string name);

    bool is_leaf() const;
    /// The accumulated gradient (undefined until a backward reached this tensor).
    const Array& grad() const;
    bool has_grad() const { return grad().defined(); }
    /// The gradient, writable: for clipping, scaling or averaging gradients before an optimizer step
    /// (clip_grad_norm uses it). Only a leaf has one; GraphError on an interior node. Replacing it
    /// with an array of another shape or dtype is refused at the next backward or optimizer step.
    Array& mutable_grad();
    void zero_grad();

    /// Hooks (PyTorch's register_hook and post-accumulate-grad hook). A gradient hook runs when a
    /// backward computes this tensor's gradient — before a leaf accumulates it, before an interior
    /// node passes it on — and may replace it (return a defined Array of the same shape and dtype:
    /// clipping or scaling one tensor's gradient) or keep it (return Array()). A gradient-ready hook
    /// (leaves only) runs once per backward after that pass's gradient was added to grad(), with the
    /// accumulated gradient, writable. Hooks run on the thread running backward, in registration
    /// order; an exception from a hook stops that backward like any error.
    Tensor& register_hook(GradHook hook);
    Tensor& register_grad_ready_hook(GradReadyHook hook);
    void clear_hooks();

    /// Reverse-mode autodiff from this scalar tensor (see framework/engine.hpp).
    void backward(const BackwardOptions& options = {}) const;
    /// Reverse-mode autodiff with an explicit upstream gradient (for non-scalar tensors).
    void backward(const Array& grad_out, const BackwardOptions& options = {}) const;

    /// Same value, cut from the graph: a new leaf that does not require grad.
    Tensor detach() const;

    // ---- sugar: the everyday ops as members, each calling the free function of ops/ops.hpp
    // (defined in ops/methods.cpp; the graph records exactly what the free call records) ----
    Tensor operator[](std::int64_t index) const;  ///< select(x, 0, index): x[0] is the first row
    Tensor reshape(const NewShape& shape) const;
    Tensor flatten(int start_axis = 1, int end_axis = -1) const;
    Tensor permute(const std::vector<int>& axes) const;
    Tensor transpose(int axis0, int axis1) const;
    Tensor t() const;  ///< transpose of a 2-d tensor
    Tensor squeeze(int axis) const;
    Tensor unsqueeze(int axis) const;
    Tensor slice(int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;
    Tensor astype(DType dtype) const;
    Tensor sum() const;
    Tensor sum(int axis, bool keepdims = false) const;
    Tensor mean() const;
    Tensor mean(int axis, bool keepdims = false) const;
    Tensor max() const;
    Tensor max(int axis, bool keepdims = false) const;
    Tensor min() const;
    Tensor min(int axis, bool keepdims = false) const;
    Tensor argmax(int axis, bool keepdims = false) const;
    Tensor argmin(int axis, bool keepdims = false) const;

    const std::shared_ptr<Node>& node() const { return node_; }
    Node& node_ref() const;

private:
    std::shared_ptr<Node> node_;
};

/// Prints like an Array, headed tensor instead of array, adding requires_grad and the name:
///
///     tensor([1., 2.], dtype=float64, shape=(2,), requires_grad=true, name="w")
std::string to_string(const Tensor& tensor, const PrintOptions& options = {});
std::ostream& operator<<(std::ostream& os, const Tensor& tensor);

/// A leaf that requires grad (model weights): the name shows in DOT, errors and saved files.
Tensor parameter(Array value, std::string name = {});
/// A leaf that does not require grad (data, labels).
Tensor constant(Array value, std::string name = {});

/// Throws ValueError naming `who` and the tensor when a list of parameters holds the same tensor
/// twice (a tied weight given twice): an optimizer would apply its update twice, a gradient clip
/// count its norm twice and scale it twice. Module::parameters() lists a shared tensor once.
void check_distinct(const std::vector<Tensor>& parameters, const std::string& who);

}  // namespace xgrad
