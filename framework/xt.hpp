#pragma once
// The one project header that includes xtensor. Op implementations (.cpp files only) view an Array's
// buffer as an xtensor expression without copying; public headers never include this file, so a
// model script does not instantiate xtensor.
//
// NOTE: xtensor expressions are lazy and hold references to their operands. Every helper here
// materialises into an Array before returning, so no expression outlives the op that built it.

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xvectorize.hpp>
#include <xtensor/xview.hpp>

#include "framework/array.hpp"

namespace xgrad::detail {

/// A mutable xtensor view of an array's buffer (no copy).
template <class T>
auto view(Array& a) {
    return xt::adapt(a.data<T>(), a.size(), xt::no_ownership(), a.shape());
}

/// A read-only xtensor view of an array's buffer (no copy).
template <class T>
auto view(const Array& a) {
    return xt::adapt(a.data<T>(), a.size(), xt::no_ownership(), a.shape());
}

/// Materialises an xtensor expression into a new Array of the given shape.
template <class T, class E>
Array evaluate(const Shape& shape, const E& expression) {
    Array out = Array::uninitialized(shape, dtype_of<T>());
    auto out_view = view<T>(out);
    xt::noalias(out_view) = expression;
    return out;
}

/// numpy broadcasting of two shapes; ShapeError naming the op and both shapes if they do not fit.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// Sums a gradient of broadcast shape back down to an input's shape (undoes broadcasting).
Array sum_to_shape(Array grad, const Shape& shape, const char* op);

/// ||a||_2 in double.
double l2_norm(const Array& a);

/// target += addend, element-wise (same shape and dtype).
void add_in_place(Array& target, const Array& addend);

/// Whether every element is finite.
bool all_finite(const Array& a);

}  // namespace xgrad::detail
