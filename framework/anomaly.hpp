#pragma once
// Where in the user's code a node was recorded, for anomaly reports: the call stack is captured
// (only under anomaly detection) and resolved in-process from the binaries' debug information with
// elfutils' libdw, inlined calls included — no addr2line subprocess, no shell.

#include <vector>

namespace xgrad::detail {

/// The return addresses of the current call stack, innermost first (at most 32).
std::vector<void*> capture_call_stack();

}  // namespace xgrad::detail
