#include "models/data/datasets.hpp"

#include <cmath>
#include <string>

#include "framework/errors.hpp"
#include "framework/io/csv.hpp"
#include "framework/io/files.hpp"
#include "framework/io/mat.hpp"

namespace xgrad {

namespace {

void check_labels(const Array& y, const std::string& where) {
    for (std::size_t i = 0; i < y.size(); ++i)
        if (y.flat(i) != 0.0 && y.flat(i) != 1.0)
            throw IoError(where + ": label " + std::to_string(i) + " is " + std::to_string(y.flat(i)) + ", expected 0 or 1");
}

}  // namespace

Dataset load_football(const std::string& path) {
    const io::MatFile mat(path);
    Dataset d;
    d.train.X = mat.read_transposed("X", 2);
    d.train.Y = mat.read_transposed("y", 1);
    d.test.X = mat.read_transposed("Xval", 2);
    d.test.Y = mat.read_transposed("yval", 1);
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
    const std::vector<std::vector<double>> rows = io::parse_csv_rows(text, path);
    if (rows.empty()) throw IoError(path + ": no data rows");
    const std::size_t columns = rows[0].size();
    if (columns < 2)
        throw IoError(path + ": " + std::to_string(columns) + " column, expected at least 2 (features..., label)");
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
    if (data.X.ndim() != 2 || data.Y.ndim() != 2 || data.Y.shape()[1] != data.X.shape()[1])
        throw ShapeError("random_mini_batches: X " + shape_str(data.X.shape()) + " and Y " + shape_str(data.Y.shape()) +
                         " must both be (rows, m), one example per column (features × examples; Y may have several "
                         "rows, e.g. one-hot labels)");
    const std::size_t features = data.X.shape()[0], m = data.X.shape()[1], label_rows = data.Y.shape()[0];
    const std::vector<std::size_t> perm = gen.permutation(m);
    std::vector<LabeledData> batches;
    for (std::size_t start = 0; start < m; start += batch_size) {
        const std::size_t size = std::min(batch_size, m - start);
        LabeledData b{Array({features, size}, data.X.dtype()), Array({label_rows, size}, data.Y.dtype())};
        for (std::size_t k = 0; k < size; ++k) {
            for (std::size_t f = 0; f < features; ++f) b.X.set_flat(f * size + k, data.X.flat(f * m + perm[start + k]));
            for (std::size_t r = 0; r < label_rows; ++r) b.Y.set_flat(r * size + k, data.Y.flat(r * m + perm[start + k]));
        }
        batches.push_back(std::move(b));
    }
    return batches;
}

}  // namespace xgrad
