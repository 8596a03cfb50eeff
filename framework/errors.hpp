#pragma once
// The error taxonomy. Every message names the op, module or file at fault and the offending values,
// so a user can fix the call without a debugger.

#include <stdexcept>
#include <string>

namespace xgrad {

/// Operands whose shapes do not fit the op (message names the op and every shape).
struct ShapeError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// An argument outside its allowed range (message names the value and the range).
struct ValueError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// An index (slice, select, index_select, gather, one_hot, a label) outside the axis it indexes
/// (message names the op, the index, where it sits and the axis size).
struct IndexError : std::out_of_range {
    using std::out_of_range::out_of_range;
};

/// float32 and float64 mixed in one op without an explicit conversion, or int64 where a float is
/// needed (or a float where int64 indices are).
struct DTypeError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// Misuse of the graph: backward through a released graph, on a non-scalar without a gradient, ...
struct GraphError : std::logic_error {
    using std::logic_error::logic_error;
};

/// A data or parameter file that cannot be read or written (message names the path and the reason).
struct IoError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// NaN or Inf met while anomaly detection is on (message names the op and where it was created).
struct AnomalyError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Non-printable bytes of user data (a field, a name) shown as '?', so an error message stays one
/// readable line (and a NUL does not end its what()).
inline std::string printable(std::string text) {
    for (char& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return text;
}

}  // namespace xgrad
