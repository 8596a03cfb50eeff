#include "models/data.hpp"

#include <matio.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <tuple>

#include "framework/errors.hpp"
#include "framework/io.hpp"

namespace xgrad {

namespace {

struct MatCloser {
    void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
    void operator()(matvar_t* v) const { Mat_VarFree(v); }
};

/// Reads a real double matrix variable of shape (rows, cols) and returns it as (cols, rows):
/// MATLAB stores column-major, so the buffer already is the transpose in row-major order.
Array read_transposed(mat_t* mat, const std::string& path, const char* name, std::size_t cols) {
    std::unique_ptr<matvar_t, VarFreer> var(Mat_VarRead(mat, name));
    if (!var) throw IoError(path + ": variable '" + name + "' is missing or cannot be read");
    if (var->class_type != MAT_C_DOUBLE || var->data_type != MAT_T_DOUBLE || var->isComplex)
        throw IoError(path + ": variable '" + name + "' must be a real double matrix (class " +
                      std::to_string(static_cast<int>(var->class_type)) + ", data type " +
                      std::to_string(static_cast<int>(var->data_type)) + ")");
    if (var->rank != 2 || var->dims[1] != cols || var->dims[0] == 0)
        throw IoError(path + ": variable '" + name + "' has shape " +
                      (var->rank == 2 ? shape_str({var->dims[0], var->dims[1]}) : std::to_string(var->rank) + "-d") +
                      ", expected (m, " + std::to_string(cols) + ")");
    const std::size_t rows = var->dims[0];
    if (!var->data || var->nbytes < rows * cols * sizeof(double))
        throw IoError(path + ": variable '" + name + "' holds fewer bytes than its shape needs (truncated file?)");
    const auto* data = static_cast<const double*>(var->data);
    Array out({cols, rows});
    double* o = out.data<double>();
    for (std::size_t i = 0; i < rows * cols; ++i) {
        if (!std::isfinite(data[i]))
            throw IoError(path + ": variable '" + name + "' holds a non-finite value at element " + std::to_string(i));
        o[i] = data[i];
    }
    return out;
}

/// Non-printable bytes of user data shown as '?', so an error message stays one readable line.
std::string printable(std::string text) {
    for (char& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return text;
}

void check_labels(const Array& y, const std::string& where) {
    for (std::size_t i = 0; i < y.size(); ++i)
        if (y.flat(i) != 0.0 && y.flat(i) != 1.0)
            throw IoError(where + ": label " + std::to_string(i) + " is " + std::to_string(y.flat(i)) + ", expected 0 or 1");
}

/// Reads MAT v5 data-element tags with the file's byte order.
struct MatReader {
    const std::string& path;
    bool swapped;

    std::uint32_t u32(const std::string& b, std::size_t at) const {
        std::uint32_t v;
        std::memcpy(&v, b.data() + at, 4);
        return swapped ? __builtin_bswap32(v) : v;
    }
    [[noreturn]] void fail(const std::string& what) const { throw IoError(path + ": " + what); }

    /// One sub-element of a matrix: {type, data offset, data size}; advances `at` past it.
    std::tuple<std::uint32_t, std::size_t, std::size_t> sub_element(const std::string& b, std::size_t& at,
                                                                   std::size_t end) const {
        if (end - at < 8) fail("truncated matrix header");
        const std::uint32_t type = u32(b, at), size = u32(b, at + 4);
        if (type >> 16) {  // small data element: up to 4 bytes inside the tag
            const std::size_t data = at + 4, n = type >> 16;
            if (n > 4) fail("corrupt small data element");
            at += 8;
            return {type & 0xffff, data, n};
        }
        const std::size_t data = at + 8, padded = (static_cast<std::size_t>(size) + 7) / 8 * 8;
        if (padded > end - data) fail("truncated matrix header");
        at = data + padded;
        return {type, data, size};
    }

    /// Checks a miMATRIX element's header before libmatio reads it: libmatio trusts the header's
    /// dimensions and allocates whatever they claim.
    void check_matrix(const std::string& b, std::size_t at, std::size_t end) const {
        const auto [flags_type, flags_at, flags_size] = sub_element(b, at, end);
        if (flags_type != 6 || flags_size != 8) fail("corrupt array flags in a matrix header");
        const std::uint32_t matrix_class = u32(b, flags_at) & 0xff;
        const auto [dims_type, dims_at, dims_size] = sub_element(b, at, end);
        if (dims_type != 5 || dims_size % 4 != 0 || dims_size < 8 || dims_size > 64)
            fail("corrupt dimensions in a matrix header");
        const auto [name_type, name_at, name_size] = sub_element(b, at, end);
        if (name_type != 1 || name_size > 63) fail("corrupt variable name in a matrix header");
        const std::string name = b.substr(name_at, name_size);
        if (matrix_class != 6)
            fail("variable '" + name + "' is of MATLAB class " + std::to_string(matrix_class) + ", expected double (6)");
        std::size_t elements = 1;
        for (std::size_t k = 0; k < dims_size / 4; ++k) {
            const std::uint32_t d = u32(b, dims_at + 4 * k);
            if (d > (1u << 28) || (d && elements > (std::size_t{1} << 32) / d))
                fail("variable '" + name + "' claims too many elements");
            elements *= d;
        }
        // MATLAB may store a double array's values in a narrower type (uint8 for 0/1 labels), so the
        // bound is one byte per element: enough to stop a header from claiming gigabytes.
        if (elements > end - at)
            fail("variable '" + name + "' claims " + std::to_string(elements) + " elements but holds fewer bytes");
    }

    /// Walks the data elements in b[at, end): compressed ones are inflated (at most 64 MiB) and walked too.
    void walk(const std::string& b, std::size_t at, std::size_t end) const {
        while (at < end) {
            if (end - at < 8) fail("truncated: " + std::to_string(end - at) + " stray bytes at offset " + std::to_string(at));
            const std::uint32_t type = u32(b, at), size = u32(b, at + 4);
            if (type >> 16) {
                at += 8;
                continue;
            }
            std::size_t span = 8 + static_cast<std::size_t>(size);
            if (type != 15) span = (span + 7) / 8 * 8;  // uncompressed elements are padded to 8 bytes
            if (span > end - at)
                fail("truncated: the element at offset " + std::to_string(at) + " needs " + std::to_string(span) +
                     " bytes but only " + std::to_string(end - at) + " remain");
            if (type == 14) check_matrix(b, at + 8, at + 8 + size);
            if (type == 15) {
                const std::string inflated = inflate(b.substr(at + 8, size));
                walk(inflated, 0, inflated.size());
            }
            at += span;
        }
    }

    std::string inflate(const std::string& compressed) const {
        constexpr std::size_t limit = std::size_t{64} << 20;
        std::string out;
        z_stream z{};
        if (inflateInit(&z) != Z_OK) fail("zlib could not start");
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
        z.avail_in = static_cast<uInt>(compressed.size());
        char chunk[16384];
        int rc = Z_OK;
        while (rc == Z_OK) {
            z.next_out = reinterpret_cast<Bytef*>(chunk);
            z.avail_out = sizeof chunk;
            rc = ::inflate(&z, Z_NO_FLUSH);
            out.append(chunk, sizeof chunk - z.avail_out);
            if (out.size() > limit) {
                inflateEnd(&z);
                fail("a compressed variable inflates to more than 64 MiB");
            }
            if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
        }
        inflateEnd(&z);
        if (rc != Z_STREAM_END) fail("a compressed variable is corrupt or truncated (zlib)");
        return out;
    }
};

/// Validates a MAT v5 file's structure before libmatio reads it: a truncated file is reported as
/// such (libmatio may otherwise inflate a cut variable into a silently zero-filled buffer), and
/// matrix headers are checked (libmatio allocates whatever dimensions a header claims).
void check_mat_structure(const std::string& path) {
    const std::string bytes = read_file(path);
    // MATLAB's -v7.3 files are HDF5 files behind the same 128-byte text header, version 0x0200.
    // libmatio reads them through HDF5 (Debian's is built with it), which checks its own structure.
    if (bytes.rfind("MATLAB 7.3 MAT-file", 0) == 0) return;
    if (bytes.size() < 128) throw IoError(path + ": " + std::to_string(bytes.size()) + " bytes is too short for a MAT v5 file");
    // The indicator is 'M','I' written as a 16-bit number: it reads "IM" in a little-endian file.
    const bool little_endian_file = bytes[126] == 'I' && bytes[127] == 'M';
    const bool swapped = little_endian_file != (std::endian::native == std::endian::little);
    if (!little_endian_file && !(bytes[126] == 'M' && bytes[127] == 'I'))
        throw IoError(path + ": not a MATLAB v5 .mat file (no endian indicator at byte 126)");
    MatReader{path, swapped}.walk(bytes, 128, bytes.size());
}

}  // namespace

Dataset load_football(const std::string& path) {
    check_mat_structure(path);
    std::unique_ptr<mat_t, MatCloser> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
    if (!mat) {
        if (read_file(path).rfind("MATLAB 7.3 MAT-file", 0) == 0)
            throw IoError(path + ": a MAT v7.3 (HDF5) file, which this libmatio cannot read; save it with -v7");
        throw IoError(path + ": not a readable MATLAB .mat file");
    }
    Dataset d;
    d.train.X = read_transposed(mat.get(), path, "X", 2);
    d.train.Y = read_transposed(mat.get(), path, "y", 1);
    d.test.X = read_transposed(mat.get(), path, "Xval", 2);
    d.test.Y = read_transposed(mat.get(), path, "yval", 1);
    if (d.train.X.shape()[1] != d.train.Y.shape()[1])
        throw IoError(path + ": X has " + std::to_string(d.train.X.shape()[1]) + " examples but y has " +
                      std::to_string(d.train.Y.shape()[1]));
    if (d.test.X.shape()[1] != d.test.Y.shape()[1])
        throw IoError(path + ": Xval has " + std::to_string(d.test.X.shape()[1]) + " examples but yval has " +
                      std::to_string(d.test.Y.shape()[1]));
    check_labels(d.train.Y, path + " (y)");
    check_labels(d.test.Y, path + " (yval)");
    d.source = path;
    return d;
}

LabeledData load_csv(const std::string& path) {
    return parse_csv(read_file(path), path);
}

LabeledData parse_csv(const std::string& text, const std::string& path) {
    std::istringstream in(text);
    std::vector<std::vector<double>> rows;
    std::string line;
    std::size_t line_no = 0, columns = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        // Every field is parsed; the first line is a header only when none of its fields is a number
        // (a typo such as "1,2x,0" in the first row is an error, not a header).
        std::vector<double> row;
        std::vector<std::string> fields;
        std::stringstream splitter(line);
        for (std::string field; std::getline(splitter, field, ',');) fields.push_back(field);
        if (line.back() == ',') fields.emplace_back();  // a trailing comma leaves an empty last field
        std::size_t bad_column = 0, numbers = 0;
        for (std::size_t c = 0; c < fields.size(); ++c) {
            const char* begin = fields[c].c_str();
            char* end = nullptr;
            errno = 0;
            const double v = std::strtod(begin, &end);
            while (*end == ' ' || *end == '\t') ++end;
            // end must reach the field's real end: an embedded NUL would stop strtod early.
            if (end == begin || end != begin + fields[c].size() || errno == ERANGE || !std::isfinite(v)) {
                if (!bad_column) bad_column = c + 1;
            } else {
                ++numbers;
            }
            row.push_back(v);
        }
        if (bad_column) {
            if (rows.empty() && line_no == 1 && numbers == 0) continue;  // a header line
            std::string field = fields[bad_column - 1];
            if (field.size() > 40) field = field.substr(0, 40) + "...";
            throw IoError(path + ":" + std::to_string(line_no) + ": column " + std::to_string(bad_column) + ": '" +
                          printable(field) + "' is not a finite number");
        }
        if (columns == 0) columns = row.size();
        if (row.size() != columns || columns < 2)
            throw IoError(path + ":" + std::to_string(line_no) + ": " + std::to_string(row.size()) + " columns, expected " +
                          std::to_string(columns < 2 ? 2 : columns) + " (features..., label)");
        rows.push_back(std::move(row));
    }
    if (rows.empty()) throw IoError(path + ": no data rows");
    const std::size_t m = rows.size(), features = columns - 1;
    LabeledData d{Array({features, m}), Array({1, m})};
    for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t f = 0; f < features; ++f) d.X.set_flat(f * m + i, rows[i][f]);
        d.Y.set_flat(i, rows[i][features]);
    }
    return d;
}

LabeledData flower(std::uint32_t seed, std::size_t points) {
    if (points < 4 || points % 2) throw ValueError("flower: points = " + std::to_string(points) + " must be even and >= 4");
    Generator gen(seed);
    const std::size_t n = points / 2;
    LabeledData d{Array({2, points}), Array({1, points})};
    const double step_span = 3.12;
    for (std::size_t j = 0; j < 2; ++j) {
        // numpy: linspace(j·3.12, (j+1)·3.12, n) = arange(n) · step + start, last element = stop.
        const double start = static_cast<double>(j) * step_span, stop = static_cast<double>(j + 1) * step_span;
        const double step = (stop - start) / static_cast<double>(n - 1);
        const Array t_noise = gen.randn({n});
        const Array r_noise = gen.randn({n});
        for (std::size_t i = 0; i < n; ++i) {
            const double lin = i + 1 == n ? stop : static_cast<double>(i) * step + start;
            const double t = lin + t_noise.flat(i) * 0.2;
            const double r = 4.0 * std::sin(4.0 * t) + r_noise.flat(i) * 0.2;
            const std::size_t col = j * n + i;
            d.X.set_flat(col, r * std::sin(t));
            d.X.set_flat(points + col, r * std::cos(t));
            d.Y.set_flat(col, static_cast<double>(j));
        }
    }
    return d;
}

Dataset flower_dataset() {
    return Dataset{flower(1), flower(2), "generated: planar flower (train seed 1, test seed 2, 400 points each)"};
}

std::vector<LabeledData> random_mini_batches(const LabeledData& data, std::size_t batch_size, Generator& gen) {
    if (batch_size == 0) throw ValueError("random_mini_batches: batch_size must be positive");
    const std::size_t features = data.X.shape()[0], m = data.X.shape()[1];
    if (data.Y.shape() != Shape{1, m})
        throw ShapeError("random_mini_batches: X " + shape_str(data.X.shape()) + " and Y " + shape_str(data.Y.shape()) +
                         " do not describe the same examples");
    const std::vector<std::size_t> perm = gen.permutation(m);
    std::vector<LabeledData> batches;
    for (std::size_t start = 0; start < m; start += batch_size) {
        const std::size_t size = std::min(batch_size, m - start);
        LabeledData b{Array({features, size}, data.X.dtype()), Array({1, size}, data.Y.dtype())};
        for (std::size_t k = 0; k < size; ++k) {
            for (std::size_t f = 0; f < features; ++f) b.X.set_flat(f * size + k, data.X.flat(f * m + perm[start + k]));
            b.Y.set_flat(k, data.Y.flat(perm[start + k]));
        }
        batches.push_back(std::move(b));
    }
    return batches;
}

}  // namespace xgrad
