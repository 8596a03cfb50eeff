#include "framework/io/csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "framework/errors.hpp"

namespace xgrad::io {

std::vector<std::vector<double>> parse_csv_rows(const std::string& text, const std::string& path) {
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
            if (end == begin || end != begin + fields[c].size() || !std::isfinite(v)) {  // underflow (ERANGE) is fine
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
        if (row.size() != columns)
            throw IoError(path + ":" + std::to_string(line_no) + ": " + std::to_string(row.size()) + " columns, expected " +
                          std::to_string(columns));
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace xgrad::io
