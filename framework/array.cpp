#include "framework/array.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <new>
#include <sstream>

#include "framework/errors.hpp"

namespace xgrad {

namespace {
/// A float value stored into int64: truncated toward zero (numpy's astype), and refused when it has
/// no int64 value (NaN, ±inf, beyond ±2⁶³) instead of being undefined behaviour.
std::int64_t to_int64(double value, const char* who) {
    if (!(value >= -9.2233720368547758e18 && value < 9.2233720368547758e18))
        throw ValueError(std::string(who) + ": " + format_exact(value) + " has no int64 value");
    return static_cast<std::int64_t>(value);
}
}  // namespace

const char* dtype_name(DType dtype) {
    switch (dtype) {
        case DType::f32: return "float32";
        case DType::f64: return "float64";
        case DType::i64: return "int64";
    }
    return "unknown";
}

namespace detail {
void throw_not_floating(const char* who) {
    throw DTypeError(std::string(who) + " got int64 values where float32 or float64 is needed (labels and indices "
                     "are not differentiable; convert with astype)");
}

template <class T>
Buffer<T>& emplace_buffer(std::variant<Buffer<double>, Buffer<float>, Buffer<std::int64_t>>& buffer, std::size_t n,
                          bool zero) {
    return zero ? buffer.emplace<Buffer<T>>(n, T{}) : buffer.emplace<Buffer<T>>(n);
}
}  // namespace detail

std::string shape_str(const Shape& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ",";
    return s + ")";
}

std::size_t shape_size(const Shape& shape) {
    // Checked: a shape whose element count (or byte count, at 8 bytes an element) overflows would
    // allocate a small buffer and then be indexed far past it.
    constexpr std::size_t max_elements = std::numeric_limits<std::ptrdiff_t>::max() / sizeof(double);
    std::size_t n = 1;
    for (std::size_t d : shape)
        if (__builtin_mul_overflow(n, d, &n) || n > max_elements)
            throw ShapeError("shape " + shape_str(shape) + " has more elements than memory can address (the product of "
                             "its sizes overflows)");
    return n;
}

std::size_t normalize_axis(int axis, std::size_t ndim, const char* op) {
    const int n = static_cast<int>(ndim);
    if (axis < -n || axis >= n)
        throw ValueError(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for a " +
                         std::to_string(ndim) + "-d tensor (allowed: " + std::to_string(-n) + " to " +
                         std::to_string(n - 1) + ")");
    return static_cast<std::size_t>(axis < 0 ? axis + n : axis);
}

std::string format_exact(double value) {
    char text[32];
    const auto [end, error] = std::to_chars(text, text + sizeof text, value);
    return error == std::errc() ? std::string(text, end) : format_number(value);
}

std::string format_number(double value) {
    std::ostringstream os;
    os.precision(6);
    os << value;
    return os.str();
}

Array::Array(Shape shape, DType dtype)
    : shape_(std::move(shape)), size_(shape_size(shape_)), dtype_(dtype), defined_(true) {
    detail::dispatch_any(dtype_, [&](auto tag) { detail::emplace_buffer<decltype(tag)>(buffer_, size_, true); });
}

Array::Array(Shape shape, std::vector<double> values, DType dtype) : Array(std::move(shape), dtype) {
    if (values.size() != size_)
        throw ShapeError("Array: " + std::to_string(values.size()) + " values given for shape " +
                         shape_str(shape_) + " (" + std::to_string(size_) + " elements)");
    for (std::size_t i = 0; i < size_; ++i) set_flat(i, values[i]);
}

Array::Array(Array&& other) noexcept
    : shape_(std::move(other.shape_)),
      size_(std::exchange(other.size_, 0)),
      dtype_(other.dtype_),
      defined_(std::exchange(other.defined_, false)),
      buffer_(std::move(other.buffer_)) {
    other.version_ += layout_write;  // emptied: a write to it (std::move(w.mutable_value()) must not go unseen)
}

Array& Array::operator=(Array&& other) noexcept {
    if (this != &other) {
        const bool relaid = !same_layout(other);
        shape_ = std::move(other.shape_);
        size_ = std::exchange(other.size_, 0);
        dtype_ = other.dtype_;
        defined_ = std::exchange(other.defined_, false);
        buffer_ = std::move(other.buffer_);
        version_ += relaid ? layout_write : 1;
        other.version_ += layout_write;  // emptied: a write to it too
    }
    return *this;
}

Array& Array::operator=(const Array& other) {
    if (this != &other) {
        // Copies first, so a failed allocation leaves this array as it was.
        auto buffer = other.buffer_;
        Shape shape = other.shape_;
        const bool relaid = !same_layout(other);
        shape_ = std::move(shape);
        buffer_ = std::move(buffer);
        size_ = other.size_;
        dtype_ = other.dtype_;
        defined_ = other.defined_;
        version_ += relaid ? layout_write : 1;
    }
    return *this;
}

Array Array::uninitialized(Shape shape, DType dtype) {
    Array a;
    a.shape_ = std::move(shape);
    a.size_ = shape_size(a.shape_);
    a.dtype_ = dtype;
    a.defined_ = true;
    detail::dispatch_any(dtype, [&](auto tag) { detail::emplace_buffer<decltype(tag)>(a.buffer_, a.size_, false); });
    return a;
}

Array Array::full(Shape shape, double value, DType dtype) {
    Array a = uninitialized(std::move(shape), dtype);
    detail::dispatch_any(dtype, [&](auto zero) {
        using T = decltype(zero);
        std::fill_n(a.buffer_data<T>(), a.size_, static_cast<T>(value));
    });
    return a;
}

template <class T>
T* Array::buffer_data() const {
    if (!defined_ || dtype_ != dtype_of<T>())
        throw DTypeError(std::string("Array::data<") + dtype_name(dtype_of<T>()) + ">() on a " +
                         (defined_ ? dtype_name(dtype_) : "undefined") + " array");
    return const_cast<T*>(std::get<Buffer<T>>(buffer_).data());
}

template <class T>
T* Array::data() {
    T* p = buffer_data<T>();
    ++version_;
    return p;
}

template <class T>
const T* Array::data() const {
    return buffer_data<T>();
}

template float* Array::data<float>();
template double* Array::data<double>();
template const float* Array::data<float>() const;
template const double* Array::data<double>() const;
template std::int64_t* Array::data<std::int64_t>();
template const std::int64_t* Array::data<std::int64_t>() const;

void Array::check_index(std::size_t i, const char* accessor) const {
    if (!defined_)
        throw ShapeError(std::string("Array::") + accessor + "(" + std::to_string(i) +
                         "): the array is undefined (a tensor's grad() before any backward reached it?)");
    if (i >= size_)
        throw ShapeError(std::string("Array::") + accessor + ": index " + std::to_string(i) +
                         " out of range for " + std::to_string(size_) + " elements, shape " + shape_str(shape_));
}

double Array::flat(std::size_t i) const {
    check_index(i, "flat");
    switch (dtype_) {
        case DType::f64: return std::get<Buffer<double>>(buffer_)[i];
        case DType::f32: return std::get<Buffer<float>>(buffer_)[i];
        case DType::i64: return static_cast<double>(std::get<Buffer<std::int64_t>>(buffer_)[i]);
    }
    return 0.0;
}

void Array::set_flat(std::size_t i, double value) {
    check_index(i, "set_flat");
    ++version_;
    switch (dtype_) {
        case DType::f64: std::get<Buffer<double>>(buffer_)[i] = value; break;
        case DType::f32: std::get<Buffer<float>>(buffer_)[i] = static_cast<float>(value); break;
        case DType::i64: std::get<Buffer<std::int64_t>>(buffer_)[i] = to_int64(value, "Array::set_flat"); break;
    }
}

std::size_t Array::flat_index(std::initializer_list<std::size_t> index) const {
    if (index.size() != shape_.size())
        throw ShapeError("Array::at: " + std::to_string(index.size()) + " indices for an array of shape " +
                         shape_str(shape_));
    std::size_t flat = 0, axis = 0;
    for (std::size_t i : index) {
        if (i >= shape_[axis])
            throw ShapeError("Array::at: index " + std::to_string(i) + " out of range for axis " +
                             std::to_string(axis) + " of shape " + shape_str(shape_));
        flat = flat * shape_[axis++] + i;
    }
    return flat;
}

double Array::at(std::initializer_list<std::size_t> index) const { return flat(flat_index(index)); }

double Array::item() const {
    if (!defined_)
        throw ShapeError("Array::item: the array is undefined (a tensor's grad() before any backward reached it?)");
    if (size_ != 1)
        throw ShapeError("Array::item: needs exactly one element, array has shape " + shape_str(shape_));
    return flat(0);
}

std::vector<double> Array::to_vector() const {
    if (!defined_) return {};
    std::vector<double> v(size_);
    detail::dispatch_any(dtype_, [&](auto zero) { std::copy_n(buffer_data<decltype(zero)>(), size_, v.begin()); });
    return v;
}

Array Array::astype(DType dtype) const {
    if (dtype == dtype_ || !defined_) return *this;
    Array out = uninitialized(shape_, dtype);
    detail::dispatch_any(dtype_, [&](auto from) {
        detail::dispatch_any(dtype, [&](auto to) {
            using To = decltype(to);
            const auto* in = buffer_data<decltype(from)>();
            To* o = out.buffer_data<To>();
            if constexpr (std::is_same_v<To, std::int64_t> && !std::is_same_v<decltype(from), std::int64_t>) {
                for (std::size_t i = 0; i < size_; ++i) o[i] = to_int64(in[i], "astype(int64)");  // truncates, as numpy
            } else {
                for (std::size_t i = 0; i < size_; ++i) o[i] = static_cast<To>(in[i]);
            }
        });
    });
    return out;
}

Array Array::reshaped(Shape shape) const& { return Array(*this).reshaped(std::move(shape)); }

Array Array::reshaped(Shape shape) && {
    if (shape_size(shape) != size_)
        throw ShapeError("reshape: cannot reshape " + shape_str(shape_) + " (" + std::to_string(size_) +
                         " elements) to " + shape_str(shape));
    Array out = std::move(*this);
    out.shape_ = std::move(shape);
    return out;
}

bool Array::equals(const Array& other) const {
    if (defined_ != other.defined_ || dtype_ != other.dtype_ || shape_ != other.shape_) return false;
    if (!defined_) return true;
    return detail::dispatch_any(dtype_, [&](auto zero) {
        using T = decltype(zero);
        return std::equal(buffer_data<T>(), buffer_data<T>() + size_, other.buffer_data<T>());
    });
}

std::string Array::str() const { return to_string(*this); }

}  // namespace xgrad
