#include "framework/array.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <sstream>

#include "framework/errors.hpp"

namespace xgrad {



const char* dtype_name(DType dtype) { return dtype == DType::f32 ? "float32" : "float64"; }

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

std::string format_number(double value) {
    std::ostringstream os;
    os.precision(6);
    os << value;
    return os.str();
}

Array::Array(Shape shape, DType dtype)
    : shape_(std::move(shape)), size_(shape_size(shape_)), dtype_(dtype), defined_(true) {
    if (dtype_ == DType::f64)
        buffer_.emplace<Buffer<double>>(size_, 0.0);
    else
        buffer_.emplace<Buffer<float>>(size_, 0.0f);
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
    ++other.version_;  // emptied: a write to it (std::move(w.mutable_value()) must not go unseen)
}

Array& Array::operator=(Array&& other) noexcept {
    if (this != &other) {
        shape_ = std::move(other.shape_);
        size_ = std::exchange(other.size_, 0);
        dtype_ = other.dtype_;
        defined_ = std::exchange(other.defined_, false);
        buffer_ = std::move(other.buffer_);
        ++version_;
        ++other.version_;  // emptied: a write to it too
    }
    return *this;
}

Array& Array::operator=(const Array& other) {
    if (this != &other) {
        // Copies first, so a failed allocation leaves this array as it was.
        auto buffer = other.buffer_;
        Shape shape = other.shape_;
        shape_ = std::move(shape);
        buffer_ = std::move(buffer);
        size_ = other.size_;
        dtype_ = other.dtype_;
        defined_ = other.defined_;
        ++version_;
    }
    return *this;
}

Array Array::uninitialized(Shape shape, DType dtype) {
    Array a;
    a.shape_ = std::move(shape);
    a.size_ = shape_size(a.shape_);
    a.dtype_ = dtype;
    a.defined_ = true;
    if (dtype == DType::f64)
        a.buffer_.emplace<Buffer<double>>(a.size_);
    else
        a.buffer_.emplace<Buffer<float>>(a.size_);
    return a;
}

Array Array::full(Shape shape, double value, DType dtype) {
    Array a = uninitialized(std::move(shape), dtype);
    detail::dispatch(dtype, [&](auto zero) {
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
    return dtype_ == DType::f64 ? std::get<Buffer<double>>(buffer_)[i]
                                : std::get<Buffer<float>>(buffer_)[i];
}

void Array::set_flat(std::size_t i, double value) {
    check_index(i, "set_flat");
    ++version_;
    if (dtype_ == DType::f64)
        std::get<Buffer<double>>(buffer_)[i] = value;
    else
        std::get<Buffer<float>>(buffer_)[i] = static_cast<float>(value);
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
    detail::dispatch(dtype_, [&](auto zero) { std::copy_n(buffer_data<decltype(zero)>(), size_, v.begin()); });
    return v;
}

Array Array::astype(DType dtype) const {
    if (dtype == dtype_ || !defined_) return *this;
    Array out = uninitialized(shape_, dtype);
    detail::dispatch(dtype_, [&](auto from) {
        detail::dispatch(dtype, [&](auto to) {
            using To = decltype(to);
            const auto* in = buffer_data<decltype(from)>();
            To* o = out.buffer_data<To>();
            for (std::size_t i = 0; i < size_; ++i) o[i] = static_cast<To>(in[i]);
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
    return detail::dispatch(dtype_, [&](auto zero) {
        using T = decltype(zero);
        return std::equal(buffer_data<T>(), buffer_data<T>() + size_, other.buffer_data<T>());
    });
}

std::string Array::str() const {
    if (!defined_) return "Array(undefined)";
    std::ostringstream os;
    os.precision(8);
    os << "Array" << shape_str(shape_) << " " << dtype_name(dtype_) << " [";
    for (std::size_t i = 0; i < size_ && i < 16; ++i) os << (i ? " " : "") << flat(i);
    if (size_ > 16) os << " ...";
    os << "]";
    return os.str();
}

}  // namespace xgrad
