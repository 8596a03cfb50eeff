#pragma once
// Measurement 3: what each mode costs in the dropout op alone (the cost per training step is in
// each TrainingRun).

#include <cstddef>
#include <string>
#include <vector>

#include "dropout_study/study.hpp"

namespace xgrad::examples::dropout_study {

struct OpTiming {
    std::string name;
    double microseconds = 0;  // the best round's time per call: the least disturbed by other work
};

/// Forward and backward through one dropout of the first hidden layer's shape (20 × examples), then a
/// sum; the no-dropout line (keep_prob 1, an identity) is the cost of everything but dropout, and the
/// last line draws the mask's uniforms alone (what every mode pays). Variants alternate within each
/// round, so slow periods of the machine hit them all alike.
std::vector<OpTiming> time_dropout_op(std::size_t examples, const StudySettings& s);

}  // namespace xgrad::examples::dropout_study
