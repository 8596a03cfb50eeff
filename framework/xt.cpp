#include "framework/xt.hpp"

#include <algorithm>
#include <cmath>

#include "framework/errors.hpp"

namespace xgrad::detail {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (std::size_t i = 0; i < n; ++i) {
        // Align from the right, as numpy does; a missing leading axis acts as size 1.
        const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1)
            throw ShapeError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                             " cannot be broadcast together (axis " + std::to_string(i) + ": " +
                             std::to_string(da) + " vs " + std::to_string(db) + ")");
        out[i] = std::max(da, db);
        if (da == 0 || db == 0) out[i] = 0;
    }
    return out;
}

Array sum_to_shape(Array grad, const Shape& shape, const char* op) {
    if (grad.shape() == shape) return grad;
    const Shape& g = grad.shape();
    if (g.size() < shape.size())
        throw ShapeError(std::string(op) + ": gradient of shape " + shape_str(g) +
                         " cannot be reduced to input shape " + shape_str(shape));
    const std::size_t lead = g.size() - shape.size();
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (i < lead) {
            axes.push_back(i);
        } else if (shape[i - lead] != g[i]) {
            if (shape[i - lead] != 1)
                throw ShapeError(std::string(op) + ": gradient of shape " + shape_str(g) +
                                 " cannot be reduced to input shape " + shape_str(shape));
            axes.push_back(i);
        }
    }
    if (g.size() == 2) {  // the common case (a bias column or row): one pass, no xtensor reducer
        return dispatch(grad.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const std::size_t rows = g[0], cols = g[1];
            const bool sum_rows = std::find(axes.begin(), axes.end(), 0) != axes.end();
            const bool sum_cols = std::find(axes.begin(), axes.end(), 1) != axes.end();
            Array out({sum_rows ? 1 : rows, sum_cols ? 1 : cols}, grad.dtype());
            const T* p = grad.data<T>();
            T* o = out.data<T>();
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t c = 0; c < cols; ++c) o[(sum_rows ? 0 : r) * (sum_cols ? 1 : cols) + (sum_cols ? 0 : c)] += p[r * cols + c];
            return out.reshaped(shape);
        });
    }
    Shape kept = g;  // the summed axes kept as size 1, then the leading ones dropped
    for (std::size_t axis : axes) kept[axis] = 1;
    return dispatch(grad.dtype(), [&](auto tag) {
        using T = decltype(tag);
        return evaluate<T>(kept, xt::sum(view<T>(grad), axes, xt::keep_dims)).reshaped(shape);
    });
}

double l2_norm(const Array& a) {
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = a.data<T>();
        double s = 0.0;
        for (std::size_t i = 0, n = a.size(); i < n; ++i) s += static_cast<double>(p[i]) * static_cast<double>(p[i]);
        return std::sqrt(s);
    });
}

void add_in_place(Array& target, const Array& addend) {
    dispatch(target.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* t = target.data<T>();
        const T* a = addend.data<T>();
        for (std::size_t i = 0, n = target.size(); i < n; ++i) t[i] += a[i];
    });
}

bool all_finite(const Array& a) {
    return dispatch(a.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = a.data<T>();
        for (std::size_t i = 0, n = a.size(); i < n; ++i)
            if (!std::isfinite(p[i])) return false;
        return true;
    });
}

}  // namespace xgrad::detail
