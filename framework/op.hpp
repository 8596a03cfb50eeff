#pragma once
// Op: what a graph node computes. Each op writes its forward and, right beside it, its backward:
// backward returns one gradient per input and never accumulates — the engine sums gradients and
// undoes broadcasting in one place (framework/engine.cpp).

#include <cstdint>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "framework/array.hpp"

namespace xgrad {

/// The input values an op sees, in the order the op was called with.
using Inputs = std::vector<const Array*>;

/// One gradient per input. An undefined Array means "no gradient" (for inputs that do not need one).
/// A gradient may have the broadcast shape of the output: the engine reduces it to the input's shape.
/// A backward writes `return {dx, dy};` — each gradient is moved in. (A std::vector<Array> built
/// from braces would copy every array out of its initializer_list: a full copy of every gradient,
/// every step.)
class Grads {
public:
    template <class... Gradient>
        requires(std::is_same_v<std::remove_cvref_t<Gradient>, Array> && ...)
    Grads(Gradient&&... gradients) {  // NOLINT: implicit, so `return {dx, dy};` reads like the math
        items_.reserve(sizeof...(Gradient));
        (items_.push_back(std::forward<Gradient>(gradients)), ...);
    }
    /// For ops with a variable number of inputs (concat): one gradient appended per input.
    void push_back(Array gradient) { items_.push_back(std::move(gradient)); }
    std::size_t size() const { return items_.size(); }
    Array& operator[](std::size_t i) { return items_[i]; }
    const Array& operator[](std::size_t i) const { return items_[i]; }

private:
    std::vector<Array> items_;
};

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

    /// Op objects come from the graph's allocator (framework/memory.hpp). The destructor is
    /// virtual, so delete passes the derived op's size back.
    static void* operator new(std::size_t bytes);
    static void operator delete(void* pointer, std::size_t bytes) noexcept;
    static void* operator new(std::size_t bytes, std::align_val_t alignment);
    static void operator delete(void* pointer, std::size_t bytes, std::align_val_t alignment) noexcept;
    /// Declaring the above hides the global placement form; this restores it.
    static void* operator new(std::size_t, void* where) noexcept { return where; }
    static void operator delete(void*, void*) noexcept {}

    /// Short name: "matmul", "dropout". Used in error messages and DOT.
    virtual std::string name() const = 0;
    /// The name with parameters, e.g. "dropout(keep_prob=0.86, constant)". Used by DOT export.
    virtual std::string label() const { return name(); }
    /// The fill colour DOT export draws this op's node with ("#rrggbb"): ops that decide something
    /// about the data as it flows (dropout's mask) stand out from plain arithmetic.
    virtual const char* dot_fill() const { return "#dbe9f6"; }
    /// Key/value facts for DOT and reports (a dropout's measured scale, a reduction's axis...).
    virtual std::vector<std::pair<std::string, std::string>> attributes() const { return {}; }

    /// What input i may hold. apply_op checks it before forward, naming the op: `floating` inputs
    /// (the default) are float32 or float64, all of one dtype; `integer` inputs (indices, labels)
    /// are int64 and never get a gradient; `any` inputs (what shape ops and comparisons move or
    /// compare) may be int64 too, and share the floating inputs' dtype; a `mask` (where's
    /// condition) is any dtype, nonzero meaning true.
    enum class InputKind : std::uint8_t { floating, integer, any, mask };
    virtual InputKind input_kind(std::size_t i) const {
        static_cast<void>(i);
        return InputKind::floating;
    }

    virtual Array forward(const Inputs& inputs) = 0;
    virtual Grads backward(const BackwardArgs& args) const = 0;

    /// Whether backward reads input i's value / the op's own result. The engine refuses to run a
    /// backward whose reads were edited in place since the op was recorded (version counters, as
    /// PyTorch's), so an op whose backward does not read a value says so here and spares users a
    /// needless error. The defaults are the safe answer: it reads everything.
    virtual bool backward_reads_input(std::size_t i) const {
        static_cast<void>(i);
        return true;
    }
    virtual bool backward_reads_result() const { return true; }

    /// Frees what forward saved for backward (masks, caches); called after a backward without
    /// retain_graph. Inputs and results belong to the nodes, not to the op.
    virtual void release_saved() {}
    /// Bytes held only for backward (a dropout's bit-packed mask, a softmax cache...).
    virtual std::size_t saved_bytes() const { return 0; }
};

}  // namespace xgrad
