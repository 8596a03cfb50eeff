#pragma once
// Where in the user's code a node was recorded, for anomaly reports: the call stack is captured
// (only under anomaly detection) and resolved in-process from the binaries' debug information with
// elfutils' libdw, inlined calls included — no addr2line subprocess, no shell.

#include <string>
#include <vector>

#include "framework/node.hpp"

namespace xgrad::detail {

/// The return addresses of the current call stack, innermost first (at most 32).
std::vector<void*> capture_call_stack();

/// "op 'matmul' 'name' of shape (2, 3)", "leaf 'W1' of shape ...": how errors name a node.
std::string describe(const Node& node);
/// " (recorded at file:line in function)", or "" when the call site is unknown.
std::string recorded_at(const std::vector<void*>& call_stack);

/// Under anomaly detection: AnomalyError when an op's output, or the gradient it gives input i,
/// holds a NaN or an infinity — naming the op, the shapes and where the user recorded it.
void check_forward(const Op& op, const Array& output, const Inputs& inputs, const std::vector<void*>& call_stack);
void check_gradient(const Array& gradient, const Node& node, std::size_t input);

}  // namespace xgrad::detail
