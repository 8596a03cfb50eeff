#include "models/data.hpp"

#include <matio.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "framework/errors.hpp"

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

void check_labels(const Array& y, const std::string& where) {
    for (std::size_t i = 0; i < y.size(); ++i)
        if (y.flat(i) != 0.0 && y.flat(i) != 1.0)
            throw IoError(where + ": label " + std::to_string(i) + " is " + std::to_string(y.flat(i)) + ", expected 0 or 1");
}

/// Walks the top-level elements of a MAT v5 file so that a truncated file is reported as such:
/// matio may otherwise inflate a cut compressed variable into a silently zero-filled buffer.
void check_mat_v5_structure(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < 128) throw IoError(path + ": " + std::to_string(bytes.size()) + " bytes is too short for a MAT v5 file");
    // The indicator is 'M','I' written as a 16-bit number: it reads "IM" in a little-endian file.
    const bool little_endian_file = bytes[126] == 'I' && bytes[127] == 'M';
    const bool swapped = little_endian_file != (std::endian::native == std::endian::little);
    if (!little_endian_file && !(bytes[126] == 'M' && bytes[127] == 'I'))
        throw IoError(path + ": not a MATLAB v5 .mat file (no endian indicator at byte 126)");
    auto u32 = [&](std::size_t at) {
        std::uint32_t v;
        std::memcpy(&v, bytes.data() + at, 4);
        return swapped ? __builtin_bswap32(v) : v;
    };
    std::size_t offset = 128;
    while (offset < bytes.size()) {
        if (bytes.size() - offset < 8)
            throw IoError(path + ": truncated: " + std::to_string(bytes.size() - offset) + " stray bytes at offset " +
                          std::to_string(offset));
        const std::uint32_t type = u32(offset), size = u32(offset + 4);
        if (type >> 16) {  // small data element: the tag and its data fit in 8 bytes
            offset += 8;
            continue;
        }
        std::size_t span = 8 + static_cast<std::size_t>(size);
        if (type != 15) span = (span + 7) / 8 * 8;  // uncompressed elements are padded to 8 bytes
        if (span > bytes.size() - offset)
            throw IoError(path + ": truncated: the element at offset " + std::to_string(offset) + " needs " +
                          std::to_string(span) + " bytes but only " + std::to_string(bytes.size() - offset) + " remain");
        offset += span;
    }
}

}  // namespace

Dataset load_football(const std::string& path) {
    {
        std::ifstream probe(path, std::ios::binary);
        if (!probe) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
    }
    check_mat_v5_structure(path);
    std::unique_ptr<mat_t, MatCloser> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
    if (!mat) throw IoError(path + ": not a readable MATLAB .mat file");
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
    std::ifstream in(path);
    if (!in) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<std::vector<double>> rows;
    std::string line;
    std::size_t line_no = 0, columns = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        std::vector<double> row;
        std::stringstream fields(line);
        std::string field;
        bool numeric = true;
        while (std::getline(fields, field, ',')) {
            const char* begin = field.c_str();
            char* end = nullptr;
            errno = 0;
            const double v = std::strtod(begin, &end);
            while (*end == ' ' || *end == '\t') ++end;
            if (end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(v)) {
                numeric = false;
                break;
            }
            row.push_back(v);
        }
        if (!numeric) {
            if (rows.empty() && line_no == 1) continue;  // a header line
            throw IoError(path + ":" + std::to_string(line_no) + ": '" + field + "' is not a finite number");
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
