#pragma once
// CSV files of numbers.

#include <string>
#include <vector>

namespace xgrad::io {

/// The data rows of CSV text, every field a finite number and every row as long as the first. The
/// first line is a header only when none of its fields is a number (so a typo in the first row is
/// an error, not a header). IoError naming where:line, the column and the field otherwise.
std::vector<std::vector<double>> parse_csv_rows(const std::string& text, const std::string& where);

}  // namespace xgrad::io
