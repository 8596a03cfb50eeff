#pragma once
// Data: the course's football dataset (MATLAB v5 data.mat), CSV files, the course's planar "flower"
// dataset generated from the numpy-compatible generator, and shuffled mini-batches.
// Everything is returned in the features × examples layout: X (features, m), Y (1, m).

#include <string>
#include <vector>

#include "framework/array.hpp"
#include "framework/random.hpp"

namespace xgrad {

struct LabeledData {
    Array X;  ///< (features, m)
    Array Y;  ///< (1, m)
};

struct Dataset {
    LabeledData train, test;
    std::string source;  ///< where it came from (a path, or "generated: ...")
};

/// Reads data.mat with variables X (m×2), y (m×1), Xval (n×2), yval (n×1), all double, transposed
/// to features × examples. IoError naming the path and what is wrong (missing file, not a MAT file,
/// missing variable, wrong type or shape).
Dataset load_football(const std::string& path);

/// Reads a CSV of numbers, one example per row: feature columns then the label column (last).
/// A first line that is not numeric is taken as a header. IoError naming path:line on bad input.
LabeledData load_csv(const std::string& path);
/// The same from CSV text; `where` names the source in error messages.
LabeledData parse_csv(const std::string& text, const std::string& where);

/// The course's planar flower (load_planar_dataset): 2 classes × points/2, seeded like the notebook.
LabeledData flower(std::uint32_t seed = 1, std::size_t points = 400);

/// The fallback when data.mat is absent: flower(seed 1) to train on, flower(seed 2) to test on.
Dataset flower_dataset();

/// The course's random_mini_batches: permute the columns with gen.permutation(m), then cut batches
/// of batch_size (the last one may be smaller). X (features, m); Y (rows, m): one label row, or
/// several (one-hot labels).
std::vector<LabeledData> random_mini_batches(const LabeledData& data, std::size_t batch_size, Generator& gen);

}  // namespace xgrad
