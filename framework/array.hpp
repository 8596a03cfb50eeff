#pragma once
// Array: the tensor value type. A dense, row-major n-d array of float32 or float64 with value semantics.
// This header deliberately does not include xtensor: model scripts include it and should compile in
// seconds. Ops compute on Arrays through the kernel layer (framework/kernels.hpp).

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <new>
#include <utility>
#include <string>
#include <variant>
#include <vector>

namespace xgrad {

/// Element types: float32 and float64 for values (differentiable), int64 for labels and indices
/// (never differentiable: a tensor holding int64 cannot require grad).
enum class DType : std::uint8_t { f32, f64, i64 };

inline bool is_floating(DType dtype) { return dtype != DType::i64; }
/// Bytes per element.
inline std::size_t element_size(DType dtype) { return dtype == DType::f32 ? 4 : 8; }

using Shape = std::vector<std::size_t>;

const char* dtype_name(DType dtype);
std::string shape_str(const Shape& shape);  // "(3, 4)"
/// The number of elements; ShapeError when the product overflows.
std::size_t shape_size(const Shape& shape);
/// A possibly negative axis made absolute; ValueError naming the op if out of range.
std::size_t normalize_axis(int axis, std::size_t ndim, const char* op);
/// A number for labels and messages: 6 significant digits, no trailing zeros ("0.86", "2", "1e-07").
std::string format_number(double value);
/// A number exactly: the shortest text that reads back as the same double ("0.86", "1.0000001").
/// For error messages about a value out of range, which must not print a rejected 1.0000001 as 1.
std::string format_exact(double value);

namespace detail {
/// Array buffers: 64-byte aligned, from the graph's allocator (framework/memory.hpp).
void* buffer_allocate(std::size_t bytes);
void buffer_release(void* pointer, std::size_t bytes) noexcept;

template <class T>
struct BufferAllocator {
    using value_type = T;
    BufferAllocator() = default;
    template <class U>
    BufferAllocator(const BufferAllocator<U>&) {}
    T* allocate(std::size_t n) { return static_cast<T*>(buffer_allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { buffer_release(p, n * sizeof(T)); }
    /// Default-initialise (leave uninitialised) rather than zero: an op's output is written in full
    /// right after, and zero-filling every buffer first cost a fifth of a training step.
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
    friend bool operator==(const BufferAllocator&, const BufferAllocator&) { return true; }
};
}  // namespace detail

template <class T>
using Buffer = std::vector<T, detail::BufferAllocator<T>>;

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::f32; }
template <>
constexpr DType dtype_of<double>() { return DType::f64; }
template <>
constexpr DType dtype_of<std::int64_t>() { return DType::i64; }

class Array {
public:
    /// An undefined array (no shape, no data): what a missing gradient looks like.
    Array() = default;
    Array(const Array&) = default;
    /// Assignment is an in-place write: the target's version goes up (see version()).
    Array& operator=(const Array& other);
    /// A moved-from array is undefined (never a defined array without a buffer).
    Array(Array&& other) noexcept;
    Array& operator=(Array&& other) noexcept;
    /// A zero-filled array.
    explicit Array(Shape shape, DType dtype = DType::f64);
    /// Values given in row-major order; their count must match the shape.
    Array(Shape shape, std::vector<double> values, DType dtype = DType::f64);

    static Array zeros(Shape shape, DType dtype = DType::f64) { return Array(std::move(shape), dtype); }
    /// An array whose values are unspecified: for outputs that are written in full before use.
    static Array uninitialized(Shape shape, DType dtype = DType::f64);
    static Array full(Shape shape, double value, DType dtype = DType::f64);
    static Array ones(Shape shape, DType dtype = DType::f64) { return full(std::move(shape), 1.0, dtype); }
    /// A 0-d array holding one value.
    static Array scalar(double value, DType dtype = DType::f64) { return full({}, value, dtype); }

    bool defined() const { return defined_; }
    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    std::size_t ndim() const { return shape_.size(); }
    std::size_t size() const { return size_; }
    std::size_t nbytes() const { return size_ * element_size(dtype_); }

    /// Typed access to the buffer; throws DTypeError if T is not this array's dtype. The mutable
    /// form counts as a write (the version goes up when it is called).
    template <class T>
    T* data();
    template <class T>
    const T* data() const;

    /// Element i in row-major order, as double (whatever the dtype; int64 is exact up to 2⁵³).
    /// ShapeError when i is out of range (an undefined array has no elements).
    double flat(std::size_t i) const;
    /// An in-place write: bumps the version.
    void set_flat(std::size_t i, double value);

    /// How many times this array has been written in place (set_flat, mutable data(), assignment).
    /// A recorded op remembers its inputs' versions; backward refuses to run on an edited value,
    /// as PyTorch does. A write through a pointer taken from data() before the op was recorded is
    /// not seen: take the pointer after, or call data() again.
    std::uint64_t version() const { return version_; }
    /// The part of a version() that counts replacements by an array of another shape or dtype (or
    /// none): such a write bumps the version by 2^40. An op whose backward reads no value still
    /// reads the shapes it recorded, so the engine refuses these writes for every op.
    static std::uint64_t layout_generation(std::uint64_t version) { return version >> 40; }
    /// Element at a multi-index; throws ShapeError on a wrong rank or out-of-range index.
    double at(std::initializer_list<std::size_t> index) const;
    /// The single value of a one-element array.
    double item() const;

    std::vector<double> to_vector() const;
    Array astype(DType dtype) const;
    /// Same data, new shape with the same number of elements.
    Array reshaped(Shape shape) const&;
    Array reshaped(Shape shape) &&;  ///< reuses the buffer

    /// Element-wise equality of shape, dtype and every value (bit-for-bit comparisons in tests).
    bool equals(const Array& other) const;
    std::string str() const;

private:
    static constexpr std::uint64_t layout_write = std::uint64_t{1} << 40;  // see layout_generation
    bool same_layout(const Array& other) const {
        return defined_ == other.defined_ && dtype_ == other.dtype_ && shape_ == other.shape_;
    }
    std::size_t flat_index(std::initializer_list<std::size_t> index) const;
    void check_index(std::size_t i, const char* accessor) const;
    template <class T>
    T* buffer_data() const;

    Shape shape_;
    std::size_t size_ = 0;
    DType dtype_ = DType::f64;
    bool defined_ = false;
    std::uint64_t version_ = 0;
    std::variant<Buffer<double>, Buffer<float>, Buffer<std::int64_t>> buffer_;
};

/// How arrays and tensors print (numpy's print options, with numpy's defaults).
struct PrintOptions {
    int precision = 8;             ///< fractional digits at most (numpy's floatmode "maxprec")
    std::size_t threshold = 1000;  ///< more elements than this are summarised with "..."
    std::size_t edgeitems = 3;     ///< items kept at each end of a summarised axis
    std::size_t linewidth = 75;    ///< rows wrap at this width
};
/// numpy's repr, with the dtype and shape after the values:
///
///     array([[ 1.5, -2. ],
///            [ 3. ,  4. ]], dtype=float64, shape=(2, 2))
///
/// The bracketed part is exactly what numpy.array2string(a, separator=", ", prefix="array(")
/// prints with the same options (tests/print_vs_numpy.py checks it against numpy).
std::string to_string(const Array& array, const PrintOptions& options = {});
std::ostream& operator<<(std::ostream& os, const Array& array);

namespace detail {
/// The bracketed values alone, as numpy prints them after `prefix` (continuation lines are
/// indented by its width): what to_string(Array) and to_string(Tensor) share.
std::string format_values(const Array& array, const PrintOptions& options, const std::string& prefix);

[[noreturn]] void throw_not_floating(const char* who);

/// Calls f with a value of a floating element type (float or double): f(T{}) -> result. The math
/// kernels go through it, so an int64 array reaching one raises DTypeError instead of being
/// misread (ops check dtypes first, with their own names: see Op::input_kind).
template <class F>
decltype(auto) dispatch(DType dtype, F&& f) {
    if (dtype == DType::f32) return f(float{});
    if (dtype == DType::i64) throw_not_floating("a floating-point kernel");
    return f(double{});
}

/// Calls f with a value of any element type (float, double or std::int64_t): for code that only
/// moves or compares elements (copies, slices, joins, comparisons).
template <class F>
decltype(auto) dispatch_any(DType dtype, F&& f) {
    if (dtype == DType::f32) return f(float{});
    if (dtype == DType::i64) return f(std::int64_t{});
    return f(double{});
}
}  // namespace detail

}  // namespace xgrad
