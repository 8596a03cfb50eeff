// Convolution and pooling in PyTorch's batch-first layout (N, C, H, W): conv2d (and conv1d on it)
// lowered to OpenBLAS gemm through im2col, max_pool2d, avg_pool2d, adaptive_avg_pool2d.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include "framework/engine.hpp"
#include "framework/intrinsics.hpp"
#include "framework/kernels.hpp"
#include "framework/simd.hpp"
#include "framework/threads.hpp"
#include "ops/ops.hpp"

namespace xgrad {
namespace {
using namespace kernels;

std::string size2_str(Size2 s) {
    std::string text = "(";  // appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "(" + ...
    text += std::to_string(s.h);
    text += ", ";
    text += std::to_string(s.w);
    return text + ")";
}

/// The output length of a sliding window (PyTorch's formula); 0 windows is an error.
std::size_t windows(const char* op, std::size_t in, std::size_t kernel, std::size_t stride, std::size_t padding,
                    std::size_t dilation, const Shape& x_shape) {
    const std::size_t span = dilation * (kernel - 1) + 1;
    if (in + 2 * padding < span)
        throw ShapeError(std::string(op) + ": input " + shape_str(x_shape) + " padded by " + std::to_string(padding) +
                         " is smaller than the kernel's span " + std::to_string(span));
    return (in + 2 * padding - span) / stride + 1;
}

/// The geometry of a 2-d sliding window over (N, C, H, W): shared by convolution and pooling.
struct Window {
    std::size_t n = 0, c = 0, h = 0, w = 0;  // input
    std::size_t kh = 1, kw = 1;
    Size2 stride{1}, padding{0}, dilation{1};
    std::size_t oh = 0, ow = 0;  // output
    std::size_t plane() const { return h * w; }
    std::size_t out_plane() const { return oh * ow; }
};

Window window_of(const char* op, const Shape& x, std::size_t kh, std::size_t kw, Size2 stride, Size2 padding,
                 Size2 dilation) {
    if (x.size() != 4)
        throw ShapeError(std::string(op) + ": input must be (N, C, H, W), got " + shape_str(x));
    if (kh == 0 || kw == 0 || stride.h == 0 || stride.w == 0 || dilation.h == 0 || dilation.w == 0) {
        const bool pooling = std::string_view(op).find("pool") != std::string_view::npos;  // no dilation to name
        throw ValueError(std::string(op) + (pooling ? ": kernel and stride must be ≥ 1 (kernel ("
                                                    : ": kernel, stride and dilation must be ≥ 1 (kernel (") +
                         std::to_string(kh) + ", " + std::to_string(kw) + "), stride " + size2_str(stride) +
                         (pooling ? std::string() : ", dilation " + size2_str(dilation)) + ")");
    }
    Window g;
    g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3], g.kh = kh, g.kw = kw;
    g.stride = stride, g.padding = padding, g.dilation = dilation;
    g.oh = windows(op, g.h, kh, stride.h, padding.h, dilation.h, x);
    g.ow = windows(op, g.w, kw, stride.w, padding.w, dilation.w, x);
    return g;
}

/// For a kernel column j: the output columns ox whose input column x = ox·sw − pw + j·dw lies inside
/// the image, [lo, hi). Left of lo and right of hi the window reads padding.
struct ColumnRange {
    std::size_t lo = 0, hi = 0;
    std::ptrdiff_t x0 = 0;  // the input column read by ox = 0
};
ColumnRange column_range(const Window& g, std::size_t j) {
    ColumnRange r;
    r.x0 = static_cast<std::ptrdiff_t>(j * g.dilation.w) - static_cast<std::ptrdiff_t>(g.padding.w);
    const auto sw = static_cast<std::ptrdiff_t>(g.stride.w), w = static_cast<std::ptrdiff_t>(g.w);
    const std::ptrdiff_t first = r.x0 < 0 ? (-r.x0 + sw - 1) / sw : 0;                   // x ≥ 0
    const std::ptrdiff_t last = w - 1 - r.x0 < 0 ? -1 : (w - 1 - r.x0) / sw;             // x ≤ w − 1
    r.lo = static_cast<std::size_t>(std::min<std::ptrdiff_t>(first, static_cast<std::ptrdiff_t>(g.ow)));
    r.hi = std::max(r.lo, static_cast<std::size_t>(std::min<std::ptrdiff_t>(last + 1, static_cast<std::ptrdiff_t>(g.ow))));
    return r;
}

/// The input row read by output row oy through kernel row i, or −1 in the padding.
std::ptrdiff_t input_row(const Window& g, std::size_t oy, std::size_t i) {
    const auto y = static_cast<std::ptrdiff_t>(oy * g.stride.h + i * g.dilation.h) - static_cast<std::ptrdiff_t>(g.padding.h);
    return y >= 0 && y < static_cast<std::ptrdiff_t>(g.h) ? y : -1;
}

/// For a stride-1 window whose output has the input's size ("same" padding): the flat offset from an
/// output position to the input element that tap (i, j) reads, when that element is inside the plane.
std::ptrdiff_t input_offset(const Window& g, std::size_t i, std::size_t j) {
    const auto dy = static_cast<std::ptrdiff_t>(i * g.dilation.h) - static_cast<std::ptrdiff_t>(g.padding.h);
    const auto dx = static_cast<std::ptrdiff_t>(j * g.dilation.w) - static_cast<std::ptrdiff_t>(g.padding.w);
    return dy * static_cast<std::ptrdiff_t>(g.w) + dx;
}

/// Rows (or planes, or channels) of `elements` each that make one parallel_for task worth waking a
/// worker for: elements_per_task in all.
std::size_t rows_per_task(std::size_t elements) {
    return std::max<std::size_t>(1, elements_per_task / std::max<std::size_t>(elements, 1));
}

// A stride-1, same-size convolution's tap (i, j) reads its whole plane shifted by one flat offset;
// only the output columns outside [lo, hi) of its kernel column j read the wrapped neighbour row
// instead of padding. im2col copies the shifted run through a lane mask of those columns (one
// branch-free pass), and col2im adds through it: masked_copy and masked_add, as vector clones (the
// templates around them are compiled for the x86-64 baseline, four floats at a time).
template <class T>
[[gnu::always_inline]] inline void masked_copy_loop(T* __restrict to, const T* __restrict from,
                                                    const simd::Bits<T>* __restrict keep, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) to[k] = simd::kept_or_zero(from[k], keep[k]);
}
template <class T>
[[gnu::always_inline]] inline void masked_add_loop(T* __restrict to, const T* __restrict from,
                                                   const simd::Bits<T>* __restrict keep, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) to[k] += simd::kept_or_zero(from[k], keep[k]);
}
XGRAD_VECTOR_CLONES void masked_copy(float* to, const float* from, const std::uint32_t* keep, std::size_t n) {
    masked_copy_loop(to, from, keep, n);
}
XGRAD_VECTOR_CLONES void masked_copy(double* to, const double* from, const std::uint64_t* keep, std::size_t n) {
    masked_copy_loop(to, from, keep, n);
}
XGRAD_VECTOR_CLONES void masked_add(float* to, const float* from, const std::uint32_t* keep, std::size_t n) {
    masked_add_loop(to, from, keep, n);
}
XGRAD_VECTOR_CLONES void masked_add(double* to, const double* from, const std::uint64_t* keep, std::size_t n) {
    masked_add_loop(to, from, keep, n);
}

/// Whether g is a stride-1 convolution whose output has the input's size (its taps read shifted planes).
bool same_size(const Window& g) { return g.stride.h == 1 && g.stride.w == 1 && g.oh == g.h && g.ow == g.w; }

/// How im2col and col2im read a window's taps, worked out once per op call and shared by its
/// threads: for a same-size window, per kernel column j, L lanes all ones where output position p's
/// column lies in column_range(g, j) (the tap reads the plane there), zeros where it reads padding.
template <class T>
struct TapMasks {
    bool shifted;                         // same_size(g): each tap reads its plane shifted
    std::vector<simd::Bits<T>> columns;  // kw · L lanes when shifted, else none

    explicit TapMasks(const Window& g) : shifted(same_size(g)) {
        if (!shifted) return;
        const std::size_t L = g.out_plane();
        columns.resize(g.kw * L);
        for (std::size_t j = 0; j < g.kw; ++j) {
            const ColumnRange r = column_range(g, j);
            simd::Bits<T>* mask = columns.data() + j * L;
            for (std::size_t oy = 0; oy < g.oh; ++oy)
                for (std::size_t x = 0; x < g.ow; ++x) mask[oy * g.ow + x] = simd::all_ones_if<T>(x >= r.lo && x < r.hi);
        }
    }
};

/// The positions [from, to) of a same-size tap's block that read inside the plane's flat range.
std::pair<std::size_t, std::size_t> shifted_run(std::ptrdiff_t shift, std::size_t L) {
    const auto signed_L = static_cast<std::ptrdiff_t>(L);
    return {static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(-shift, 0, signed_L)),
            static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(signed_L - shift, 0, signed_L))};
}

/// im2col for one image (C·H·W at `image`) and its channels [c0, c0 + channels): cols is
/// (channels·kh·kw, L), row (c·kh + i)·kw + j (one kernel tap), column oy·ow + ox (the window at
/// (oy, ox)); 0 where the window reads padding. `masks` is TapMasks(g).
template <class T>
void image_to_columns(const T* image, std::size_t c0, std::size_t channels, const Window& g, const TapMasks<T>& masks,
                      T* cols) {
    const std::size_t L = g.out_plane(), taps = g.kh * g.kw;
    parallel_for(channels * taps, rows_per_task(L), [&](std::size_t first, std::size_t last) {
        for (std::size_t r = first; r < last; ++r) {
            const std::size_t c = r / taps, i = r % taps / g.kw, j = r % g.kw;
            const ColumnRange range = column_range(g, j);
            T* row = cols + r * L;
            const T* plane = image + (c0 + c) * g.plane();
            if (masks.shifted) {  // the tap's row is the plane shifted, its padding columns masked to 0
                const std::ptrdiff_t shift = input_offset(g, i, j);
                const auto [from, to] = shifted_run(shift, L);
                std::fill(row, row + std::min(from, L), T(0));
                if (from < to)
                    masked_copy(row + from, plane + (static_cast<std::ptrdiff_t>(from) + shift),
                                masks.columns.data() + j * L + from, to - from);
                std::fill(row + std::max(from, to), row + L, T(0));
                continue;
            }
            for (std::size_t oy = 0; oy < g.oh; ++oy) {
                T* out = row + oy * g.ow;
                const std::ptrdiff_t y = input_row(g, oy, i);
                if (y < 0) {
                    std::fill_n(out, g.ow, T(0));
                    continue;
                }
                const T* line = plane + static_cast<std::size_t>(y) * g.w + range.x0;  // at ox = 0
                std::fill(out, out + range.lo, T(0));
                if (g.stride.w == 1)
                    std::copy(line + range.lo, line + range.hi, out + range.lo);
                else
                    for (std::size_t ox = range.lo; ox < range.hi; ++ox) out[ox] = line[ox * g.stride.w];
                std::fill(out + range.hi, out + g.ow, T(0));
            }
        }
    });
}

/// col2im, the adjoint of image_to_columns: sets each of the image's planes in [c0, c0 + channels)
/// to the sum of the column entries read from its elements (entries that read padding are dropped).
/// The planes are zeroed here, inside the parallel loop, rather than by the caller on one thread.
template <class T>
void columns_to_image(const T* cols, std::size_t c0, std::size_t channels, const Window& g, const TapMasks<T>& masks,
                      T* image) {
    const std::size_t L = g.out_plane(), taps = g.kh * g.kw;
    // By channel: a channel's taps all add into its own plane, so tasks never share an element.
    parallel_for(channels, rows_per_task(taps * L), [&](std::size_t first, std::size_t last) {
        for (std::size_t c = first; c < last; ++c) {
            T* plane = image + (c0 + c) * g.plane();
            std::fill_n(plane, g.plane(), T(0));
            for (std::size_t i = 0; i < g.kh; ++i)
                for (std::size_t j = 0; j < g.kw; ++j) {
                    const ColumnRange r = column_range(g, j);
                    const T* row = cols + (c * taps + i * g.kw + j) * L;
                    if (masks.shifted) {  // image_to_columns' masked shifted copy, backwards
                        const std::ptrdiff_t shift = input_offset(g, i, j);
                        const auto [from, to] = shifted_run(shift, L);
                        if (from < to)
                            masked_add(plane + (static_cast<std::ptrdiff_t>(from) + shift), row + from,
                                       masks.columns.data() + j * L + from, to - from);
                        continue;
                    }
                    for (std::size_t oy = 0; oy < g.oh; ++oy) {
                        const std::ptrdiff_t y = input_row(g, oy, i);
                        if (y < 0) continue;
                        const T* in = row + oy * g.ow;
                        T* line = plane + static_cast<std::size_t>(y) * g.w + r.x0;
                        if (g.stride.w == 1)
                            for (std::size_t ox = r.lo; ox < r.hi; ++ox) line[ox] += in[ox];
                        else
                            for (std::size_t ox = r.lo; ox < r.hi; ++ox) line[ox * g.stride.w] += in[ox];
                    }
                }
        }
    });
}

// conv2d_relu's element-wise parts, by relu's own rule (simd::relu_passes: x ≤ 0 gives +0, NaN stays
// NaN), hence the bits of relu(conv2d(...)): branch-free selects on distinct arrays,
// so they vectorise (a `?:` that guards a load compiles to a branch per element).
template <class T>
[[gnu::always_inline]] inline void bias_relu_loop(T* __restrict row, std::size_t n, T b) {
    for (std::size_t i = 0; i < n; ++i) {
        const T v = row[i] + b;
        row[i] = simd::kept_or_zero(v, simd::relu_passes(v));
    }
}
template <class T>
[[gnu::always_inline]] inline void relu_mask_loop(const T* __restrict dy, const T* __restrict result,
                                                  T* __restrict masked, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) masked[i] = simd::kept_or_zero(dy[i], simd::relu_passes(result[i]));
}
/// row[i] = relu(row[i] + b) (b = 0 without a bias: the same bits as relu alone).
XGRAD_VECTOR_CLONES void bias_relu(float* row, std::size_t n, float b) { bias_relu_loop(row, n, b); }
XGRAD_VECTOR_CLONES void bias_relu(double* row, std::size_t n, double b) { bias_relu_loop(row, n, b); }
/// ReLU's backward inside conv2d_relu: dY where the result is > 0, else +0.
XGRAD_VECTOR_CLONES void relu_mask(const float* dy, const float* result, float* masked, std::size_t n) {
    relu_mask_loop(dy, result, masked, n);
}
XGRAD_VECTOR_CLONES void relu_mask(const double* dy, const double* result, double* masked, std::size_t n) {
    relu_mask_loop(dy, result, masked, n);
}

/// An image's output block (rows of L): + bias[o] on row o (bias may be null), then ReLU when `relu`.
template <class T>
void add_bias_relu(T* block, std::size_t rows, std::size_t L, const T* bias, bool relu) {
    for (std::size_t o = 0; o < rows; ++o) {
        T* row = block + o * L;
        const T b = bias ? bias[o] : T(0);
        if (relu)
            bias_relu(row, L, b);  // x + 0 is x for every x but −0, which ReLU sends to +0 anyway
        else
            for (std::size_t l = 0; l < L; ++l) row[l] += b;
    }
}

/// Σ_y Σ_x of each of `planes` planes (h, w) from `dy`, added to sums[0, planes) — or written there
/// when `first` — each plane summed over its rows' sums (reduce_rows), then over y in order.
template <class T>
void add_plane_sums(const T* dy, std::size_t planes, std::size_t h, std::size_t w, bool first, T* sums,
                    std::vector<T>& row_sums) {
    row_sums.resize(h);
    for (std::size_t o = 0; o < planes; ++o) {
        reduce_rows(dy + o * h * w, h, w, [](T a, T b) { return a + b; }, row_sums.data());
        T plane_sum = row_sums[0];
        for (std::size_t y = 1; y < h; ++y) plane_sum += row_sums[y];
        sums[o] = first ? plane_sum : sums[o] + plane_sum;
    }
}

/// The parts of a batch that conv2d's backward sums dW and db over: each part adds its images' terms
/// in order into a partial sum of its own, and the partials are added in part order. The parts are
/// fixed by the batch and the weight's size (at most 16, and partials within 16 MiB), never by the
/// thread count, so the sums are taken in the same order on any number of threads. (A product's own
/// bits are the same too when the parts run on the workers, each on one OpenBLAS thread; a loop too
/// small to split, one part, runs its products on OpenBLAS's threads: see parallel_for_with_blas.)
std::size_t weight_gradient_parts(std::size_t images, std::size_t weight_bytes) {
    constexpr std::size_t budget = std::size_t{16} << 20, most = 16;
    const std::size_t fit = budget / std::max<std::size_t>(weight_bytes, 1);
    return std::max<std::size_t>(1, std::min({fit, images, most}));
}

// Lowered one image at a time, the images spread over xgrad's threads, each of which runs its own
// gemms (parallel_for_with_blas). For image n, group g (Cg = C/groups input channels, Og = O/groups
// outputs, K = Cg·kh·kw taps, L = oh·ow positions) and cols = im2col (K, L) of the image's group:
//   Y[n, g] (Og, L) = W_g (Og, K) · cols + b_g, written in place in Y;
//   dW_g += dY[n, g] · colsᵀ;  dcols = W_gᵀ · dY[n, g] → col2im into dX[n];  db += Σ_l dY[n].
// An image's columns (220 KiB for the CNN's second layer) stay in the thread's cache from im2col to
// the gemm, and an image's outputs are a block of Y as they are: no copy of Y or dY between the
// (O, N·L) layout of one wide gemm and the batch's (N, O, L). Measured against one wide gemm per
// pass of images on OpenBLAS's two threads (bench BM_CnnStep, BM_Conv2dForwardBackward): the
// products run as fast, and the copies between layouts are gone.
// Backward lowers the image again rather than keeping the columns from forward (K·L per image: 9×
// the input for a 3×3 kernel): the second im2col costs less than the memory it would hold.
struct Conv2dOp final : Op {
    Size2 stride, padding, dilation;
    std::size_t groups;
    bool has_bias;
    bool relu;  // conv2d_relu: ReLU applied to each output block while it is in cache
    Conv2dOp(Size2 stride, Size2 padding, Size2 dilation, std::size_t groups, bool has_bias, bool relu)
        : stride(stride), padding(padding), dilation(dilation), groups(groups), has_bias(has_bias), relu(relu) {}
    std::string name() const override { return relu ? "conv2d_relu" : "conv2d"; }
    std::string label() const override {
        std::string s = name() + "(stride=" + size2_str(stride) + ", padding=" + size2_str(padding);
        if (dilation.h != 1 || dilation.w != 1) s += ", dilation=" + size2_str(dilation);
        if (groups != 1) s += ", groups=" + std::to_string(groups);
        return s + ")";
    }
    // conv2d_relu's backward masks dY by its result (> 0 where ReLU let the value through).
    bool backward_reads_result() const override { return relu; }
    bool backward_reads_input(std::size_t i) const override { return i < 2; }

    /// A 1×1 kernel at stride 1 without padding: an image's group of channels is its own columns.
    static bool reads_image_directly(const Window& g) {
        return g.kh == 1 && g.kw == 1 && g.stride.h == 1 && g.stride.w == 1 && g.padding.h == 0 && g.padding.w == 0;
    }

    Window geometry(const Array& x, const Array& w) const {
        const std::string op = name();
        if (w.ndim() != 4)
            throw ShapeError(op + ": weight must be (C_out, C_in / groups, kH, kW), got " + shape_str(w.shape()));
        if (groups == 0) throw ValueError(op + ": groups must be ≥ 1");
        const Window g = window_of(op.c_str(), x.shape(), w.shape()[2], w.shape()[3], stride, padding, dilation);
        if (g.c % groups != 0 || w.shape()[0] % groups != 0 || w.shape()[1] != g.c / groups)
            throw ShapeError(op + ": input " + shape_str(x.shape()) + " and weight " + shape_str(w.shape()) +
                             " do not fit groups = " + std::to_string(groups) +
                             " (need C_in and C_out divisible by groups, weight's axis 1 = C_in / groups)");
        return g;
    }
    Array forward(const Inputs& x) override {
        const Array& X = *x[0];
        const Array& W = *x[1];
        const Window g = geometry(X, W);
        const std::size_t out_channels = W.shape()[0], og = out_channels / groups, cg = g.c / groups;
        const std::size_t K = cg * g.kh * g.kw, L = g.out_plane();
        if (has_bias && x[2]->shape() != Shape{out_channels})
            throw ShapeError(name() + ": bias must be (" + std::to_string(out_channels) + ",), got " +
                             shape_str(x[2]->shape()));
        Array Y = Array::uninitialized({g.n, out_channels, g.oh, g.ow}, X.dtype());
        dispatch(X.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* bias = has_bias ? x[2]->data<T>() : nullptr;
            const T* images = X.data<T>();
            T* y = Y.data<T>();
            const bool direct = reads_image_directly(g);
            const TapMasks<T> masks(g);
            parallel_for_with_blas(g.n, 1, [&](std::size_t first, std::size_t last) {
                Array cols = direct ? Array() : Array::uninitialized({K, L}, X.dtype());
                for (std::size_t n = first; n < last; ++n)
                    for (std::size_t grp = 0; grp < groups; ++grp) {
                        MatrixAt columns{&X, (n * g.c + grp * cg) * L, K, L};
                        if (!direct) {
                            image_to_columns(images + n * g.c * g.plane(), grp * cg, cg, g, masks, cols.data<T>());
                            columns = {&cols, 0, K, L};
                        }
                        const std::size_t at = (n * out_channels + grp * og) * L;
                        gemm_into({&W, grp * og * K, og, K}, false, columns, false, y + at, 0, false);
                        if (bias || relu) add_bias_relu(y + at, og, L, bias ? bias + grp * og : nullptr, relu);
                    }
            });
        });
        return Y;
    }
    Grads backward(const BackwardArgs& a) const override {
        const Array& X = *a.inputs[0];
        const Array& W = *a.inputs[1];
        const Array& G = a.grad_out;
        const Window g = geometry(X, W);
        const std::size_t out_channels = W.shape()[0], og = out_channels / groups, cg = g.c / groups;
        const std::size_t K = cg * g.kh * g.kw, L = g.out_plane();
        const bool wants_db = has_bias && a.wants(2);
        const std::size_t parts = weight_gradient_parts(g.n, W.size() * element_size(W.dtype()));
        Array dx, dw, db;
        if (a.wants(0)) dx = Array::uninitialized(X.shape(), X.dtype());  // every plane set by columns_to_image
        // Each part's partial dW and db: (parts, O·K) and (parts, O).
        Array dw_parts = a.wants(1) ? Array::uninitialized({parts, W.size()}, W.dtype()) : Array();
        Array db_parts = wants_db ? Array::uninitialized({parts, out_channels}, G.dtype()) : Array();
        dispatch(X.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* images = X.data<T>();
            const bool direct = reads_image_directly(g);
            const TapMasks<T> masks(g);
            // The outputs' memory, taken once: the threads write disjoint blocks of it, never the Arrays.
            T* dx_data = a.wants(0) ? dx.data<T>() : nullptr;
            T* dw_data = a.wants(1) ? dw_parts.data<T>() : nullptr;
            T* db_data = wants_db ? db_parts.data<T>() : nullptr;
            parallel_for_with_blas(parts, 1, [&](std::size_t first_part, std::size_t last_part) {
                Array cols = a.wants(1) && !direct ? Array::uninitialized({K, L}, X.dtype()) : Array();
                Array dcols = a.wants(0) && !direct ? Array::uninitialized({K, L}, X.dtype()) : Array();
                // conv2d_relu: the image's dY with ReLU's mask applied, (O, L)
                Array masked = relu ? Array::uninitialized({out_channels, L}, G.dtype()) : Array();
                std::vector<T> row_sums;
                for (std::size_t p = first_part; p < last_part; ++p) {
                    const std::size_t begin = chunk_begin(p, parts, g.n), end = chunk_begin(p + 1, parts, g.n);
                    for (std::size_t n = begin; n < end; ++n) {
                        const Array& dy = relu ? masked : G;
                        const std::size_t dy_at = relu ? 0 : n * out_channels * L;  // dY[n] in `dy`
                        if (relu)
                            relu_mask(G.data<T>() + n * out_channels * L, a.result.data<T>() + n * out_channels * L,
                                      masked.data<T>(), out_channels * L);
                        for (std::size_t grp = 0; grp < groups; ++grp) {
                            const MatrixAt dy_g{&dy, dy_at + grp * og * L, og, L};  // dY[n, g]: (Og, L)
                            const std::size_t image_g = (n * g.c + grp * cg) * L;  // direct: X[n, g] is (Cg, L)
                            if (a.wants(1)) {  // dW_g += dY[n, g] · colsᵀ
                                MatrixAt columns{&X, image_g, K, L};
                                if (!direct) {
                                    image_to_columns(images + n * g.c * g.plane(), grp * cg, cg, g, masks, cols.data<T>());
                                    columns = {&cols, 0, K, L};
                                }
                                gemm_into(dy_g, false, columns, true, dw_data + p * W.size() + grp * og * K, 0, n != begin);
                            }
                            if (a.wants(0)) {  // dcols = W_gᵀ · dY[n, g] → dX[n]
                                if (direct) {
                                    gemm_into({&W, grp * og * K, og, K}, true, dy_g, false, dx_data + image_g, 0, false);
                                    continue;
                                }
                                gemm_into({&W, grp * og * K, og, K}, true, dy_g, false, dcols, 0, false);
                                columns_to_image(dcols.data<T>(), grp * cg, cg, g, masks, dx_data + n * g.c * g.plane());
                            }
                        }
                        if (wants_db)
                            add_plane_sums(dy.data<T>() + dy_at, out_channels, g.oh, g.ow, n == begin,
                                           db_data + p * out_channels, row_sums);
                    }
                }
            });
        });
        // The partials in part order (a part holds at least one image: parts ≤ N): sum_keepdims over
        // axis 0 adds the parts in turn, from 0 (numpy's order).
        if (a.wants(1)) dw = g.n == 0 ? Array(W.shape(), W.dtype()) : sum_keepdims(dw_parts, 0).reshaped(W.shape());
        if (wants_db) db = g.n == 0 ? Array({out_channels}, G.dtype()) : sum_keepdims(db_parts, 0).reshaped({out_channels});
        if (!has_bias) return {std::move(dx), std::move(dw)};
        return {std::move(dx), std::move(dw), std::move(db)};
    }
};

// One kernel tap of max pooling over n windows: window k reads plane[corner[k] + offset], which
// replaces best[k] (and its index where[k]) when strictly larger, or when it is the first NaN.
// Branch-free on distinct (restrict) arrays, so it vectorises.
template <class T>
[[gnu::always_inline]] inline void max_pool_windows_loop(const T* __restrict plane, T* __restrict best,
                                                         std::uint32_t* __restrict where,
                                                         const std::uint32_t* __restrict corner, std::size_t n,
                                                         std::uint32_t offset) {
    for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t at = corner[k] + offset;
        const T v = plane[at];
        const bool take = (v > best[k]) | ((v != v) & (best[k] == best[k]));
        best[k] = take ? v : best[k];
        where[k] = take ? at : where[k];
    }
}
XGRAD_VECTOR_CLONES void max_pool_windows(const float* plane, float* best, std::uint32_t* where,
                                          const std::uint32_t* corner, std::size_t n, std::uint32_t offset) {
    max_pool_windows_loop(plane, best, where, corner, n, offset);
}
XGRAD_VECTOR_CLONES void max_pool_windows(const double* plane, double* best, std::uint32_t* where,
                                          const std::uint32_t* corner, std::size_t n, std::uint32_t offset) {
    max_pool_windows_loop(plane, best, where, corner, n, offset);
}

#if XGRAD_X86_INTRINSICS
// The 2 × 2, stride-2 windows of every CNN's pooling in float32, one output row at a time with
// AVX-512: 16 windows a step read 32 floats of each of the two input rows, split into even and odd
// columns (a permute each), and fold the taps in max_pool_windows' order and by its rule — larger
// replaces, the first NaN replaces and stays — so values and indices are the same. max_pool_windows
// gathers each tap instead: the CNN's first pooling took 0.6–1 ms a step that way
// (bench: BM_MaxPool2dForward).
/// Lanes where v replaces b: v is larger, or a NaN where b is not.
XGRAD_V4 __mmask16 replaces(__m512 v, __m512 b) {
    return static_cast<__mmask16>(_mm512_cmp_ps_mask(v, b, _CMP_GT_OQ) |
                                  (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(b, b, _CMP_ORD_Q)));
}
XGRAD_V4 void max_pool_2x2_row_avx512(const float* top, const float* bottom, float* best, std::uint32_t* where,
                                      std::size_t count, std::uint32_t corner, std::uint32_t w) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i lane_columns = _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
    for (std::size_t k = 0; k < count; k += 16) {
        const std::size_t left = std::min<std::size_t>(16, count - k);
        const auto lanes = static_cast<__mmask16>((1u << left) - 1);
        const auto first_half = static_cast<__mmask16>(left >= 8 ? 0xffff : (1u << (2 * left)) - 1);
        const auto second_half = static_cast<__mmask16>(left <= 8 ? 0 : (1u << (2 * (left - 8))) - 1);
        const float* t = top + 2 * k;
        const float* u = bottom + 2 * k;
        const __m512 t0 = _mm512_maskz_loadu_ps(first_half, t), t1 = _mm512_maskz_loadu_ps(second_half, t + 16);
        const __m512 u0 = _mm512_maskz_loadu_ps(first_half, u), u1 = _mm512_maskz_loadu_ps(second_half, u + 16);
        const __m512 a = _mm512_permutex2var_ps(t0, even, t1), b = _mm512_permutex2var_ps(t0, odd, t1);
        const __m512 c = _mm512_permutex2var_ps(u0, even, u1), d = _mm512_permutex2var_ps(u0, odd, u1);
        const __m512i at = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(corner + 2 * k)), lane_columns);
        const __m512i down = _mm512_set1_epi32(static_cast<int>(w));
        __m512 value = a;
        __m512i index = at;
        __mmask16 m = replaces(b, value);
        value = _mm512_mask_mov_ps(value, m, b);
        index = _mm512_mask_add_epi32(index, m, at, _mm512_set1_epi32(1));
        m = replaces(c, value);
        value = _mm512_mask_mov_ps(value, m, c);
        index = _mm512_mask_add_epi32(index, m, at, down);
        m = replaces(d, value);
        value = _mm512_mask_mov_ps(value, m, d);
        index = _mm512_mask_add_epi32(index, m, at, _mm512_add_epi32(down, _mm512_set1_epi32(1)));
        _mm512_mask_storeu_ps(best + k, lanes, value);
        _mm512_mask_storeu_epi32(where + k, lanes, index);
    }
}
#endif

// Max pooling: y = the largest input in each window (padding counts as -inf, as PyTorch);
// dx = g at the window's first largest element (its index saved in forward).
struct MaxPool2dOp final : Op {
    Size2 kernel, stride, padding;
    std::vector<std::uint32_t> argmax;  // per output element, the input element's index in its plane
    MaxPool2dOp(Size2 kernel, Size2 stride, Size2 padding) : kernel(kernel), stride(stride), padding(padding) {}
    std::string name() const override { return "max_pool2d"; }
    std::string label() const override {
        return "max_pool2d(kernel=" + size2_str(kernel) + ", stride=" + size2_str(stride) +
               (padding.h || padding.w ? ", padding=" + size2_str(padding) : "") + ")";
    }
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }
    void release_saved() override { std::vector<std::uint32_t>().swap(argmax); }
    std::size_t saved_bytes() const override { return argmax.size() * sizeof(std::uint32_t); }

    Array forward(const Inputs& x) override {
        const Window g = window_of("max_pool2d", x[0]->shape(), kernel.h, kernel.w, stride, padding, Size2{1});
        if (padding.h * 2 > kernel.h || padding.w * 2 > kernel.w)
            throw ValueError("max_pool2d: padding " + size2_str(padding) + " must be at most half the kernel " +
                             size2_str(kernel));
        if (g.plane() > std::numeric_limits<std::uint32_t>::max())
            throw ShapeError("max_pool2d: planes of more than 2³² elements are not supported");
        if (g.plane() == 0 && g.n * g.c != 0)  // padding alone would make windows with no element to point at
            throw ShapeError("max_pool2d: input " + shape_str(x[0]->shape()) + " has empty planes");
        Array Y = Array::uninitialized({g.n, g.c, g.oh, g.ow}, x[0]->dtype());
        argmax.resize(Y.size());
        dispatch(Y.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* in = x[0]->data<T>();
            T* y = Y.data<T>();
            // Kernel tap by kernel tap, each a branch-free loop over many windows (one comparison per
            // window at a time was a coin-toss branch per element). Each output starts at −inf and the
            // index of its window's first element inside the image: strictly larger values replace it
            // (ties keep the first), the first NaN replaces and stays (PyTorch's rules), and a window of
            // −inf keeps its first element.
            const T lowest = -std::numeric_limits<T>::infinity();
#if XGRAD_X86_INTRINSICS
            if constexpr (std::is_same_v<T, float>) {
                if (g.kh == 2 && g.kw == 2 && g.stride.h == 2 && g.stride.w == 2 && g.padding.h == 0 &&
                    g.padding.w == 0 && avx512_kernels_enabled()) {
                    const auto w = static_cast<std::uint32_t>(g.w);
                    parallel_for(g.n * g.c, rows_per_task(g.plane()), [&](std::size_t first, std::size_t last) {
                        for (std::size_t p = first; p < last; ++p)
                            for (std::size_t oy = 0; oy < g.oh; ++oy) {
                                const float* top = in + p * g.plane() + 2 * oy * g.w;
                                const std::size_t out = (p * g.oh + oy) * g.ow;
                                max_pool_2x2_row_avx512(top, top + g.w, y + out, argmax.data() + out, g.ow,
                                                        static_cast<std::uint32_t>(2 * oy) * w, w);
                            }
                    });
                    return;
                }
            }
#endif
            if (g.padding.h == 0 && g.padding.w == 0) {
                // Every window lies inside the image: for tap (i, j), window k reads corner[k] + i·w + j,
                // a loop over the whole output plane (rows of 7 or 14 outputs are too short to vectorise).
                std::vector<std::uint32_t> corner(g.out_plane());
                for (std::size_t oy = 0; oy < g.oh; ++oy)
                    for (std::size_t ox = 0; ox < g.ow; ++ox)
                        corner[oy * g.ow + ox] = static_cast<std::uint32_t>(oy * g.stride.h * g.w + ox * g.stride.w);
                parallel_for(g.n * g.c, rows_per_task(g.plane()), [&](std::size_t first, std::size_t last) {
                    for (std::size_t p = first; p < last; ++p) {
                        T* best = y + p * g.out_plane();
                        std::uint32_t* where = argmax.data() + p * g.out_plane();
                        std::fill_n(best, g.out_plane(), lowest);
                        std::copy(corner.begin(), corner.end(), where);
                        for (std::size_t i = 0; i < g.kh; ++i)
                            for (std::size_t j = 0; j < g.kw; ++j)
                                max_pool_windows(in + p * g.plane(), best, where, corner.data(), g.out_plane(),
                                                 static_cast<std::uint32_t>(i * g.w + j));
                    }
                });
                return;
            }
            // Padded: row by row of the output; for tap (i, j) the output columns whose window reads
            // inside the image, [lo, hi), read input row oy·sh − ph + i at columns x0 + ox·sw.
            std::vector<ColumnRange> taps(g.kw);
            for (std::size_t j = 0; j < g.kw; ++j) taps[j] = column_range(g, j);
            std::vector<std::uint32_t> first_column(g.ow), steps(g.ow);  // steps[k] = k·sw
            for (std::size_t ox = 0; ox < g.ow; ++ox) {
                const auto left = static_cast<std::ptrdiff_t>(ox * g.stride.w) - static_cast<std::ptrdiff_t>(g.padding.w);
                first_column[ox] = static_cast<std::uint32_t>(std::max<std::ptrdiff_t>(left, 0));
                steps[ox] = static_cast<std::uint32_t>(ox * g.stride.w);
            }
            for (std::size_t p = 0; p < g.n * g.c; ++p) {
                const T* plane = in + p * g.plane();
                for (std::size_t oy = 0; oy < g.oh; ++oy) {
                    T* best = y + (p * g.oh + oy) * g.ow;
                    std::uint32_t* where = argmax.data() + (p * g.oh + oy) * g.ow;
                    const auto top = static_cast<std::ptrdiff_t>(oy * g.stride.h) - static_cast<std::ptrdiff_t>(g.padding.h);
                    const auto first_row = static_cast<std::uint32_t>(std::max<std::ptrdiff_t>(top, 0));
                    for (std::size_t ox = 0; ox < g.ow; ++ox) {
                        best[ox] = lowest;
                        where[ox] = first_row * static_cast<std::uint32_t>(g.w) + first_column[ox];
                    }
                    for (std::size_t i = 0; i < g.kh; ++i) {
                        const std::ptrdiff_t row = input_row(g, oy, i);
                        if (row < 0) continue;
                        for (const ColumnRange& tap : taps) {
                            if (tap.lo == tap.hi) continue;
                            // the input element of output column lo (inside the image, so ≥ 0)
                            const auto first = static_cast<std::uint32_t>(row * static_cast<std::ptrdiff_t>(g.w) + tap.x0 +
                                                                          static_cast<std::ptrdiff_t>(tap.lo * g.stride.w));
                            max_pool_windows(plane, best + tap.lo, where + tap.lo, steps.data(), tap.hi - tap.lo, first);
                        }
                    }
                }
            }
        });
        return Y;
    }
    Grads backward(const BackwardArgs& a) const override {
        if (argmax.size() != a.grad_out.size())
            throw GraphError("max_pool2d: backward after its saved indices were released (use retain_graph)");
        const Array& X = *a.inputs[0];
        Array dx = Array::uninitialized(X.shape(), X.dtype());  // each plane zeroed in the parallel loop
        const std::size_t plane = X.shape()[2] * X.shape()[3];
        const std::size_t out_plane = a.grad_out.shape()[2] * a.grad_out.shape()[3];
        dispatch(X.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* g = a.grad_out.data<T>();
            T* d = dx.data<T>();
            const std::size_t planes = X.shape()[0] * X.shape()[1];
            parallel_for(planes, rows_per_task(plane), [&](std::size_t first, std::size_t last) {
                for (std::size_t p = first; p < last; ++p) {  // plane by plane: no division per element
                    T* to = d + p * plane;
                    std::fill_n(to, plane, T(0));
                    for (std::size_t k = p * out_plane, end = k + out_plane; k < end; ++k) to[argmax[k]] += g[k];
                }
            });
        });
        return {std::move(dx)};
    }
};

/// For one axis of adaptive pooling: output i averages input [⌊i·in/out⌋, ⌈(i+1)·in/out⌉).
std::pair<std::size_t, std::size_t> adaptive_range(std::size_t i, std::size_t in, std::size_t out) {
    return {i * in / out, ((i + 1) * in + out - 1) / out};
}

// Average pooling, fixed windows (PyTorch's avg_pool2d, count_include_pad = true: a window's sum is
// divided by kh·kw, padding included) or adaptive ones (adaptive_avg_pool2d: windows that tile the
// input into the output size). y = mean of the window; dx = g / (window count) on every element.
struct AvgPool2dOp final : Op {
    Size2 kernel, stride, padding;
    bool adaptive;
    Size2 output_size;
    AvgPool2dOp(Size2 kernel, Size2 stride, Size2 padding)
        : kernel(kernel), stride(stride), padding(padding), adaptive(false), output_size(1) {}
    explicit AvgPool2dOp(Size2 output_size)
        : kernel(1), stride(1), padding(0), adaptive(true), output_size(output_size) {}
    std::string name() const override { return adaptive ? "adaptive_avg_pool2d" : "avg_pool2d"; }
    std::string label() const override {
        if (adaptive) return "adaptive_avg_pool2d" + size2_str(output_size);
        return "avg_pool2d(kernel=" + size2_str(kernel) + ", stride=" + size2_str(stride) +
               (padding.h || padding.w ? ", padding=" + size2_str(padding) : "") + ")";
    }
    bool backward_reads_input(std::size_t) const override { return false; }
    bool backward_reads_result() const override { return false; }

    /// Every window: for output (oy, ox), the input rows [y0, y1), columns [x0, x1) and the divisor.
    struct Span {
        std::size_t y0, y1, x0, x1;
        double count;
    };
    std::vector<Span> spans(const Shape& shape, std::size_t& oh, std::size_t& ow) const {
        std::vector<Span> out;
        if (adaptive) {
            if (shape.size() != 4)
                throw ShapeError("adaptive_avg_pool2d: input must be (N, C, H, W), got " + shape_str(shape));
            if (output_size.h == 0 || output_size.w == 0)
                throw ValueError("adaptive_avg_pool2d: output size " + size2_str(output_size) + " must be ≥ 1");
            oh = output_size.h, ow = output_size.w;
            for (std::size_t oy = 0; oy < oh; ++oy)
                for (std::size_t ox = 0; ox < ow; ++ox) {
                    const auto [y0, y1] = adaptive_range(oy, shape[2], oh);
                    const auto [x0, x1] = adaptive_range(ox, shape[3], ow);
                    out.push_back({y0, y1, x0, x1, static_cast<double>((y1 - y0) * (x1 - x0))});
                }
            return out;
        }
        const Window g = window_of("avg_pool2d", shape, kernel.h, kernel.w, stride, padding, Size2{1});
        if (padding.h * 2 > kernel.h || padding.w * 2 > kernel.w)
            throw ValueError("avg_pool2d: padding " + size2_str(padding) + " must be at most half the kernel " +
                             size2_str(kernel));
        oh = g.oh, ow = g.ow;
        for (std::size_t oy = 0; oy < oh; ++oy)
            for (std::size_t ox = 0; ox < ow; ++ox) {
                const auto top = static_cast<std::ptrdiff_t>(oy * stride.h) - static_cast<std::ptrdiff_t>(padding.h);
                const auto left = static_cast<std::ptrdiff_t>(ox * stride.w) - static_cast<std::ptrdiff_t>(padding.w);
                auto clip = [](std::ptrdiff_t v, std::size_t n) {
                    return static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(v, 0, static_cast<std::ptrdiff_t>(n)));
                };
                out.push_back({clip(top, shape[2]), clip(top + static_cast<std::ptrdiff_t>(kernel.h), shape[2]),
                               clip(left, shape[3]), clip(left + static_cast<std::ptrdiff_t>(kernel.w), shape[3]),
                               static_cast<double>(kernel.h * kernel.w)});
            }
        return out;
    }
    Array forward(const Inputs& x) override {
        const Shape& s = x[0]->shape();
        std::size_t oh = 0, ow = 0;
        const auto windows = spans(s, oh, ow);
        Array Y = Array::uninitialized({s[0], s[1], oh, ow}, x[0]->dtype());
        dispatch(Y.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* in = x[0]->data<T>();
            T* y = Y.data<T>();
            for (std::size_t p = 0; p < s[0] * s[1]; ++p) {
                const T* plane = in + p * s[2] * s[3];
                for (std::size_t k = 0; k < windows.size(); ++k) {
                    const Span& w = windows[k];
                    double total = 0;
                    for (std::size_t yy = w.y0; yy < w.y1; ++yy)
                        for (std::size_t xx = w.x0; xx < w.x1; ++xx) total += plane[yy * s[3] + xx];
                    y[p * windows.size() + k] = static_cast<T>(total / w.count);
                }
            }
        });
        return Y;
    }
    Grads backward(const BackwardArgs& a) const override {
        const Shape& s = a.inputs[0]->shape();
        std::size_t oh = 0, ow = 0;
        const auto windows = spans(s, oh, ow);
        Array dx(s, a.grad_out.dtype());
        dispatch(dx.dtype(), [&](auto tag) {
            using T = decltype(tag);
            const T* g = a.grad_out.data<T>();
            T* d = dx.data<T>();
            for (std::size_t p = 0; p < s[0] * s[1]; ++p) {
                T* plane = d + p * s[2] * s[3];
                for (std::size_t k = 0; k < windows.size(); ++k) {
                    const Span& w = windows[k];
                    const T share = static_cast<T>(g[p * windows.size() + k] / w.count);
                    for (std::size_t yy = w.y0; yy < w.y1; ++yy)
                        for (std::size_t xx = w.x0; xx < w.x1; ++xx) plane[yy * s[3] + xx] += share;
                }
            }
        });
        return {std::move(dx)};
    }
};

}  // namespace

namespace {
Tensor apply_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
                    Size2 dilation, std::size_t groups, bool relu) {
    auto op = std::make_unique<Conv2dOp>(stride, padding, dilation, groups, bias.defined(), relu);
    if (bias.defined()) return apply_op(std::move(op), {x, weight, bias});
    return apply_op(std::move(op), {x, weight});
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding, Size2 dilation,
              std::size_t groups) {
    return apply_conv2d(x, weight, bias, stride, padding, dilation, groups, false);
}

Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
                   Size2 dilation, std::size_t groups) {
    return apply_conv2d(x, weight, bias, stride, padding, dilation, groups, true);
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::size_t stride, std::size_t padding,
              std::size_t dilation, std::size_t groups) {
    if (x.ndim() != 3) throw ShapeError("conv1d: input must be (N, C, L), got " + shape_str(x.shape()));
    if (weight.ndim() != 3)
        throw ShapeError("conv1d: weight must be (C_out, C_in / groups, k), got " + shape_str(weight.shape()));
    // A length-L signal is a 1 × L image: the 2-d kernel does the work, one reshape on each side.
    const Tensor y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, Size2{1, stride}, Size2{0, padding},
                            Size2{1, dilation}, groups);
    return squeeze(y, 2);
}

Tensor max_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride, Size2 padding) {
    return apply_op(std::make_unique<MaxPool2dOp>(kernel, stride.value_or(kernel), padding), {x});
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride, Size2 padding) {
    return apply_op(std::make_unique<AvgPool2dOp>(kernel, stride.value_or(kernel), padding), {x});
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
    return apply_op(std::make_unique<AvgPool2dOp>(output_size), {x});
}

}  // namespace xgrad
