#pragma once
// Graphviz DOT export of the dynamic graph, and rendering through Graphviz's gvc library.
// The export walks the same topological order as backward; node ids come from that order (n0, n1,
// ...), never from addresses, so the same script always produces byte-identical DOT.

#include <ostream>
#include <string>

#include "framework/tensor.hpp"

namespace xgrad {

struct DotOptions {
    /// false: the forward graph (data flows from inputs to the output). true: the backward graph
    /// (gradients flow from the output back to every input that requires grad).
    bool backward = false;
    /// Show the bytes each op saved for backward (a dropout's bit-packed mask, ...).
    bool show_saved = false;
    /// After a backward: annotate each node with ||grad||₂ seen by that backward.
    bool grad_norms = false;
    /// Mark parameters (leaves that require grad) that received no gradient, in red.
    bool mark_no_grad = true;
    /// Group nodes recorded inside a module scope (ScopeGuard / Module::operator()) into clusters.
    bool clusters = true;
    std::string title;
};

/// The DOT text of the graph that produced `root`.
std::string to_dot(const Tensor& root, const DotOptions& options = {});
void write_dot(std::ostream& out, const Tensor& root, const DotOptions& options = {});

/// Escapes text for a double-quoted DOT string: quotes, backslashes and newlines; invalid UTF-8
/// bytes become U+FFFD so Graphviz never rejects a label.
std::string dot_escape(const std::string& text);

/// Lays out DOT text with Graphviz (dot layout, in process via libgvc) and writes `path`; the format
/// comes from the extension: .svg, .png or .pdf. ValueError for another extension, GraphError if
/// Graphviz cannot parse or lay out the graph, IoError if the file cannot be written.
void render_dot(const std::string& dot, const std::string& path);

/// Parses and lays out DOT text without writing anything: true if Graphviz accepts it.
bool graphviz_accepts(const std::string& dot, std::string* error = nullptr);

}  // namespace xgrad
