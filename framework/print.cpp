// numpy-style printing. The bracketed body is exactly what numpy 1.24 prints for
// numpy.array2string(a, separator=", ", prefix=...) with its defaults (floatmode "maxprec", sign "-",
// legacy off), so a value can be compared with numpy by eye or by diff; tests/print_vs_numpy.py
// checks that on random arrays. The algorithm follows numpy/core/arrayprint.py (FloatingFormat,
// IntegerFormat, _formatArray, _leading_trailing).

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "framework/array.hpp"
#include "framework/errors.hpp"

namespace xgrad {

namespace {

/// x through std::to_chars: the shortest string that reads back as x in x's own type (what numpy's
/// Dragon4 "unique" mode prints: "0.1" for float32 0.1).
template <class T>
std::string shortest(T x, std::chars_format format) {
    char buffer[400];  // fixed notation of 1e308 has 309 digits
    return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, x, format).ptr);
}

/// x's exact binary value rounded to `precision` digits after the point, ties to even (as Dragon4 rounds).
template <class T>
std::string rounded(T x, std::chars_format format, int precision) {
    std::string buffer(400 + static_cast<std::size_t>(precision), '\0');
    buffer.resize(std::to_chars(buffer.data(), buffer.data() + buffer.size(), x, format, precision).ptr -
                  buffer.data());
    return buffer;
}

/// Trailing zeros of the fraction removed, the point kept ("2.50" -> "2.5", "3.000" -> "3.").
std::string trim_zeros(std::string s) {
    const std::size_t dot = s.find('.');
    if (dot == std::string::npos) return s + '.';
    s.erase(s.find_last_not_of('0') + 1);
    return s;
}

/// Dragon4's "unique" digits capped at `precision` fractional digits (numpy's maxprec): the shortest
/// round-trip string when it fits, else x rounded to `precision` digits; trailing zeros trimmed.
/// numpy's positional mode only sees |x| < 1e8, where the shortest fixed string has no padding zeros.
template <class T>
std::string positional(T x, int precision) {
    std::string s = shortest(x, std::chars_format::fixed);
    const std::size_t dot = s.find('.');
    const std::size_t fraction = dot == std::string::npos ? 0 : s.size() - dot - 1;
    if (fraction > static_cast<std::size_t>(precision)) s = rounded(x, std::chars_format::fixed, precision);
    return trim_zeros(s);
}

/// The same in scientific notation ("1.5e-05", "2.e+08").
template <class T>
std::string scientific(T x, int precision) {
    std::string s = shortest(x, std::chars_format::scientific);
    const std::size_t e = s.find('e'), dot = s.find('.');
    const std::size_t fraction = dot == std::string::npos ? 0 : e - dot - 1;
    if (fraction > static_cast<std::size_t>(precision))
        s = rounded(x, std::chars_format::scientific, precision);
    const std::size_t exponent = s.find('e');
    return trim_zeros(s.substr(0, exponent)) + s.substr(exponent);
}

struct Parts {
    std::string whole;     // sign and integer digits
    std::string fraction;  // digits after the point
    std::string exponent;  // sign and digits after 'e' ("" in positional notation)
};

Parts split(const std::string& s) {
    const std::size_t e = s.find('e');
    const std::string mantissa = s.substr(0, e);
    const std::size_t dot = mantissa.find('.');
    Parts p;
    p.whole = mantissa.substr(0, dot);
    if (dot != std::string::npos) p.fraction = mantissa.substr(dot + 1);
    if (e != std::string::npos) p.exponent = s.substr(e + 1);
    return p;
}

std::string pad_left(const std::string& s, std::size_t width) {
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}

/// numpy's FloatingFormat (floatmode "maxprec"): a first pass over the values shown picks the notation
/// and the widths, so that every element prints at the same width with the points aligned.
template <class T>
class FloatFormat {
public:
    FloatFormat(const std::vector<T>& shown, int precision) : precision_(precision) {
        std::vector<T> finite;
        for (T x : shown)
            if (std::isfinite(x)) finite.push_back(x);
        // Scientific notation when the non-zero magnitudes are huge, tiny or far apart. NOTE: numpy
        // divides in the element type (a float32 ratio) but compares the bounds as double.
        T max = 0, min = std::numeric_limits<T>::infinity();
        for (T x : finite)
            if (x != 0) max = std::max(max, std::abs(x)), min = std::min(min, std::abs(x));
        if (max > 0) {
            const T ratio = max / min;
            scientific_ = double(max) >= 1e8 || double(min) < 1e-4 || ratio > 1000;
        }
        std::size_t fraction = 0, exponent = 0;
        for (T x : finite) {
            const Parts p = split(scientific_ ? scientific(x, precision) : positional(x, precision));
            whole_ = std::max(whole_, p.whole.size());
            fraction = std::max(fraction, p.fraction.size());
            if (scientific_)
                exponent = std::max(exponent, p.exponent.size() - 1);  // digits, without the sign
        }
        if (scientific_) {
            // Every mantissa gets the longest one's digit count (rounded from the exact value, not
            // zero-padded: numpy's min_digits), every exponent the longest one's digit count.
            precision_ = static_cast<int>(fraction);
            exponent_digits_ = exponent;
            fraction_ = exponent + 2 + fraction;  // what follows the point: digits, 'e', sign, exponent
        } else {
            fraction_ = fraction;
        }
        // nan and inf are right-aligned to the full width; they may widen the integer part.
        if (finite.size() != shown.size()) {
            const bool negative_inf =
                std::any_of(shown.begin(), shown.end(), [](T x) { return std::isinf(x) && x < 0; });
            const std::size_t longest = negative_inf ? 4 : 3;
            if (longest > fraction_ + 1) whole_ = std::max(whole_, longest - (fraction_ + 1));
        }
    }

    std::string operator()(T x) const {
        if (!std::isfinite(x))
            return pad_left(std::isnan(x) ? "nan" : x < 0 ? "-inf" : "inf", whole_ + 1 + fraction_);
        if (!scientific_) {
            const std::string s = positional(x, precision_);
            const Parts p = split(s);
            return pad_left(p.whole, whole_) + s.substr(p.whole.size()) +
                   std::string(fraction_ - p.fraction.size(), ' ');
        }
        const Parts p = split(rounded(x, std::chars_format::scientific, precision_));
        const std::string digits = p.exponent.substr(1);
        return pad_left(p.whole, whole_) + "." + p.fraction + "e" + p.exponent[0] +
               std::string(exponent_digits_ - std::min(exponent_digits_, digits.size()), '0') + digits;
    }

private:
    int precision_;
    bool scientific_ = false;
    std::size_t whole_ = 0;            // width of sign and integer digits
    std::size_t fraction_ = 0;         // width after the point
    std::size_t exponent_digits_ = 0;  // scientific only
};

/// numpy's IntegerFormat: right-aligned to the widest of the largest and the smallest value shown.
class IntFormat {
public:
    explicit IntFormat(const std::vector<std::int64_t>& shown) {
        const auto [min, max] = std::minmax_element(shown.begin(), shown.end());
        width_ = std::max(std::to_string(*min).size(), std::to_string(*max).size());
    }
    std::string operator()(std::int64_t x) const { return pad_left(std::to_string(x), width_); }

private:
    std::size_t width_;
};

/// Which elements show and where the brackets, separators and line breaks go (numpy's
/// _leading_trailing and _formatArray); the element strings come from a formatter.
class Layout {
public:
    Layout(const Shape& shape, std::size_t edgeitems, bool summarise)
        : shape_(shape), strides_(shape.size(), 1), edge_(edgeitems), summarise_(summarise) {
        for (std::size_t d = shape.size(); d-- > 1;) strides_[d - 1] = strides_[d] * shape[d];
    }

    /// f(flat index) for each element the formatter measures: all, or the edges of each long axis.
    template <class F>
    void for_each_shown(F&& f, std::size_t axis = 0, std::size_t offset = 0) const {
        if (axis == shape_.size()) return f(offset);
        const std::size_t n = shape_[axis];
        // NOTE: numpy takes a[:edge] and a[-edge:], and a[-0:] is the whole axis.
        const bool cut = summarise_ && edge_ > 0 && n > 2 * edge_;
        for (std::size_t i = 0; i < n; ++i) {
            if (cut && i == edge_) i = n - edge_;
            for_each_shown(f, axis + 1, offset + i * strides_[axis]);
        }
    }

    /// The body; continuation lines are indented past `prefix` and the opening bracket.
    template <class F>
    std::string render(std::size_t prefix, std::size_t linewidth, const F& element) const {
        const std::size_t longest = std::numeric_limits<long>::max();
        const auto width = static_cast<long>(std::min(linewidth, longest));
        return rows(0, 0, std::string(prefix + 1, ' '), width, element);
    }

private:
    template <class F>
    std::string rows(std::size_t axis, std::size_t offset, const std::string& indent, long width,
                     const F& element) const {
        if (axis == shape_.size()) return element(offset);
        // The items of this axis; npos stands for "..." (numpy always shows the last item, even
        // with edgeitems 0).
        constexpr std::size_t ellipsis = std::string::npos;
        const std::size_t n = shape_[axis];
        std::vector<std::size_t> items;
        if (summarise_ && n > 2 * edge_) {
            for (std::size_t i = 0; i < edge_; ++i) items.push_back(i);
            items.push_back(ellipsis);
            for (std::size_t i = n - std::max<std::size_t>(edge_, 1); i < n; ++i) items.push_back(i);
        } else {
            for (std::size_t i = 0; i < n; ++i) items.push_back(i);
        }
        auto item = [&](std::size_t i) {
            // Each nesting level adds one to the indent and keeps one column for its ']'.
            return i == ellipsis
                       ? std::string("...")
                       : rows(axis + 1, offset + i * strides_[axis], indent + ' ', width - 1, element);
        };
        std::string s;
        if (axis + 1 == shape_.size()) {
            // The last axis: words fill a line, which wraps before a word that would cross the
            // width (less one column for the ',' or ']' after it); a line holding no word yet never wraps.
            const long word_width = width - 1;
            std::string line = indent;
            for (std::size_t k = 0; k < items.size(); ++k) {
                const std::string word = item(items[k]);
                if (static_cast<long>(line.size() + word.size()) > word_width &&
                    line.size() > indent.size()) {
                    s += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
                    line = indent;
                }
                line += word;
                if (k + 1 < items.size()) line += ", ";
            }
            s += line;
        } else {
            // Outer axes: one sub-array per line, a blank line between blocks of each further axis.
            // (Appended piece by piece: GCC 12 warns falsely, -Wrestrict, on one-expression concatenations.)
            std::string line_break = ",";
            line_break.append(shape_.size() - axis - 1, '\n');
            for (std::size_t k = 0; k < items.size(); ++k) {
                s += indent;
                s += item(items[k]);
                if (k + 1 < items.size()) s += line_break;
            }
        }
        std::string out = "[";
        out += s.substr(indent.size());
        out += "]";
        return out;
    }

    const Shape& shape_;
    std::vector<std::size_t> strides_;
    std::size_t edge_;
    bool summarise_;
};

/// numpy.array2string(array, separator=", ", prefix=<prefix>) with the options given.
std::string body(const Array& array, const PrintOptions& options, const std::string& prefix) {
    if (options.precision < 0)
        throw ValueError("print: precision " + std::to_string(options.precision) + " must be >= 0");
    if (array.size() == 0) return "[]";
    const Layout layout(array.shape(), options.edgeitems, array.size() > options.threshold);
    return detail::dispatch_any(array.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* data = array.data<T>();
        std::vector<T> shown;
        layout.for_each_shown([&](std::size_t i) { shown.push_back(data[i]); });
        if constexpr (std::is_same_v<T, std::int64_t>) {
            const IntFormat format(shown);
            return layout.render(prefix.size(), options.linewidth,
                                 [&](std::size_t i) { return format(data[i]); });
        } else {
            const FloatFormat<T> format(shown, options.precision);
            return layout.render(prefix.size(), options.linewidth,
                                 [&](std::size_t i) { return format(data[i]); });
        }
    });
}

/// A tensor's name in double quotes, '"' and '\' escaped so that no name can end the field early.
}  // namespace

std::string to_string(const Array& array, const PrintOptions& options) {
    if (!array.defined()) return "array(undefined)";
    return "array(" + body(array, options, "array(") + ", dtype=" + dtype_name(array.dtype()) +
           ", shape=" + shape_str(array.shape()) + ")";
}

std::ostream& operator<<(std::ostream& os, const Array& array) {
    return os << to_string(array);
}

namespace detail {
std::string format_values(const Array& array, const PrintOptions& options, const std::string& prefix) {
    return body(array, options, prefix);
}
}  // namespace detail

}  // namespace xgrad
