#include "framework/tools/dot.hpp"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "framework/engine.hpp"
#include "framework/errors.hpp"
#include "framework/io/files.hpp"
#include "framework/kernels.hpp"

namespace xgrad {

std::string dot_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c == '\n') {
                out += "\\n";
            } else if (c >= 0x20 && c != 0x7f) {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        // Copy a well-formed UTF-8 sequence; replace anything else.
        const std::size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        bool ok = len > 0 && i + len <= text.size();
        for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
        if (ok) {
            out.append(text, i, len);
            i += len;
        } else {
            out += "\xef\xbf\xbd";
            ++i;
        }
    }
    return out;
}

namespace {

std::string number(double v) {
    std::ostringstream os;
    os.precision(4);
    os << v;
    return os.str();
}

std::string describe_value(const Node& n) {
    return shape_str(n.value.shape()) + " " + dtype_name(n.value.dtype());
}

std::string node_label(const Node& n, const DotOptions& options) {
    std::string label;
    if (n.is_leaf()) {
        label = n.name.empty() ? (n.requires_grad ? "parameter" : "constant") : n.name;
        if (n.value.size() == 1 && n.name.empty()) label = number(n.value.flat(0));
    } else {
        label = options.backward ? n.op->name() + "_backward" : n.op->label();
    }
    label += '\n';  // two appends, not "\n" + ...: GCC 12 warns falsely on the temporary (PR 105329)
    label += describe_value(n);
    if (!n.is_leaf()) {
        for (const auto& [key, value] : n.op->attributes()) label += "\n" + key + ": " + value;
        if (options.show_saved)
            label += n.released.load() != Release::kept ? "\nsaved: released" : "\nsaved: " + std::to_string(n.op->saved_bytes()) + " B";
    }
    // A leaf keeps its gradient, so its norm is computed here; interior nodes' norms exist only if
    // the backward was asked to record them (BackwardOptions::record_grad_norms).
    const double norm = n.is_leaf() && n.grad.defined() ? kernels::l2_norm(n.grad) : n.grad_norm;
    if (options.grad_norms && !std::isnan(norm)) label += "\n|grad| = " + number(norm);
    return label;
}

std::string node_style(const Node& n, const DotOptions& options) {
    if (!n.is_leaf()) {
        return std::string("shape=box, style=\"rounded,filled\", fillcolor=\"") + n.op->dot_fill() + "\"";
    }
    if (n.requires_grad) {
        const bool starved = options.mark_no_grad && std::isnan(n.grad_norm) && !n.grad.defined();
        return std::string("shape=box, style=filled, fillcolor=\"") + (starved ? "#f8b4b4\", color=\"#c00000" : "#fff2b3") +
               "\"";
    }
    return "shape=ellipse, style=filled, fillcolor=\"#eeeeee\"";
}

}  // namespace

namespace {

/// The graph in the order backward walks it, each node's position being its DOT id (never an address).
struct Walk {
    std::vector<Node*> order;
    std::unordered_map<const Node*, std::size_t> id;
};

/// Each node's cluster: its op's module scope; a parameter joins the cluster of its first consumer,
/// so each layer shows its own W and b.
std::vector<std::string> scopes(const Walk& g) {
    std::vector<std::string> scope(g.order.size());
    for (std::size_t i = 0; i < g.order.size(); ++i) {
        const Node& n = *g.order[i];
        if (n.is_leaf()) continue;
        scope[i] = n.scope;
        for (const auto& in : n.inputs) {
            const std::size_t k = g.id.at(in.get());
            if (in->is_leaf() && in->requires_grad && scope[k].empty()) scope[k] = n.scope;
        }
    }
    return scope;
}

void write_header(std::ostream& out, const DotOptions& options) {
    out << "digraph xgrad {\n";
    out << "  graph [rankdir=" << (options.backward ? "TB" : "BT") << ", fontname=\"Helvetica\"";
    if (!options.title.empty()) out << ", label=\"" << dot_escape(options.title) << "\", labelloc=t";
    out << "];\n";
    out << "  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n";
}

bool visible(const Node& n, const DotOptions& options) { return !options.backward || n.requires_grad; }

/// Nodes, grouped by cluster in order of first appearance (deterministic).
void write_nodes(std::ostream& out, const Walk& g, const DotOptions& options) {
    const std::vector<std::string> scope = scopes(g);
    std::vector<std::string> clusters;
    std::map<std::string, std::vector<std::size_t>> members;
    for (std::size_t i = 0; i < g.order.size(); ++i) {
        if (!visible(*g.order[i], options)) continue;
        const std::string& s = options.clusters ? scope[i] : std::string();
        if (!members.count(s)) clusters.push_back(s);
        members[s].push_back(i);
    }
    std::size_t cluster_no = 0;
    for (const std::string& s : clusters) {
        const std::string indent = s.empty() ? "  " : "    ";
        if (!s.empty())
            out << "  subgraph cluster_" << cluster_no++ << " {\n    label=\"" << dot_escape(s)
                << "\"; style=\"rounded,dashed\"; color=\"#888888\";\n";
        for (std::size_t i : members[s]) {
            const Node& n = *g.order[i];
            out << indent << "n" << i << " [label=\"" << dot_escape(node_label(n, options)) << "\", "
                << node_style(n, options) << "];\n";
        }
        if (!s.empty()) out << "  }\n";
    }
}

/// Edges: forward, input → op; backward, op → each input that receives a gradient.
void write_edges(std::ostream& out, const Walk& g, const DotOptions& options) {
    for (std::size_t i = 0; i < g.order.size(); ++i) {
        const Node& n = *g.order[i];
        if (n.is_leaf() || !visible(n, options)) continue;
        for (std::size_t k = 0; k < n.inputs.size(); ++k) {
            const Node& in = *n.inputs[k];
            if (!visible(in, options)) continue;
            const std::size_t j = g.id.at(&in);
            if (options.backward)
                out << "  n" << i << " -> n" << j;
            else
                out << "  n" << j << " -> n" << i;
            if (n.inputs.size() > 1) out << " [label=\"" << k << "\"]";
            out << ";\n";
        }
    }
}

}  // namespace

void write_dot(std::ostream& out, const Tensor& root, const DotOptions& options) {
    if (!root.defined()) throw GraphError("to_dot: called on an undefined Tensor");
    Walk g;
    g.order = topological_order(*root.node());
    g.id.reserve(g.order.size());
    for (std::size_t i = 0; i < g.order.size(); ++i) g.id.emplace(g.order[i], i);
    write_header(out, options);
    write_nodes(out, g, options);
    write_edges(out, g, options);
    out << "}\n";
}

std::string to_dot(const Tensor& root, const DotOptions& options) {
    std::ostringstream out;
    write_dot(out, root, options);
    return out.str();
}

namespace {

/// Graphviz keeps caches (the pango plugin's last font name, for one) that point into its context;
/// freeing a context and making another leaves them dangling (a use-after-free AddressSanitizer
/// reports). So xgrad makes one context for the whole process and serialises its use, since
/// Graphviz is not thread-safe either.
GVC_t* graphviz_context() {
    static GVC_t* const context = gvContext();
    return context;
}
std::mutex graphviz_mutex;

struct GraphvizSession {
    std::lock_guard<std::mutex> lock{graphviz_mutex};
    GVC_t* context = graphviz_context();
    Agraph_t* graph = nullptr;
    ~GraphvizSession() {
        if (graph) {
            gvFreeLayout(context, graph);
            agclose(graph);
        }
    }
};

std::string last_graphviz_error() {
    char* msg = aglasterr();  // malloc'd: ours to free
    std::string s = msg ? msg : "";
    std::free(msg);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.empty() ? "no message" : s;
}

/// Parses and lays out; returns an empty string on success, the reason otherwise.
std::string lay_out(GraphvizSession& session, const std::string& dot) {
    agseterr(AGMAX);  // collect messages instead of printing them
    session.graph = agmemread(dot.c_str());
    if (!session.graph) return "Graphviz could not parse the DOT text (" + last_graphviz_error() + ")";
    if (gvLayout(session.context, session.graph, "dot") != 0) return "Graphviz could not lay out the graph (" + last_graphviz_error() + ")";
    return {};
}

}  // namespace

bool graphviz_accepts(const std::string& dot, std::string* error) {
    GraphvizSession session;
    const std::string reason = lay_out(session, dot);
    if (error) *error = reason;
    return reason.empty();
}

void render_dot(const std::string& dot, const std::string& path) {
    const std::string ext = std::filesystem::path(path).extension().string();
    if (ext != ".svg" && ext != ".png" && ext != ".pdf")
        throw ValueError("render_dot: cannot tell the format of '" + path + "' (use .svg, .png or .pdf)");
    GraphvizSession session;
    if (!session.context) throw GraphError("render_dot: Graphviz could not start (gvContext failed)");
    if (const std::string reason = lay_out(session, dot); !reason.empty()) throw GraphError("render_dot: " + reason);
    // Rendered in memory, then written like every other file: checked, and atomically.
    char* data = nullptr;
    unsigned int length = 0;
    if (gvRenderData(session.context, session.graph, ext.c_str() + 1, &data, &length) != 0 || !data)
        throw GraphError("render_dot: Graphviz could not render " + path + " (" + last_graphviz_error() +
                         "; is the " + (ext.c_str() + 1) + " plugin installed?)");
    std::unique_ptr<char, void (*)(char*)> rendered(data, gvFreeRenderData);
    write_file_atomic(path, std::string_view(rendered.get(), length));
}

}  // namespace xgrad
