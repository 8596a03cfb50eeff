#pragma once
// MATLAB .mat files: v5 (validated by xgrad before libmatio reads it — libmatio trusts headers and
// allocates whatever they claim) and v7.3 (HDF5, read by libmatio).

#include <string>

#include "framework/array.hpp"

namespace xgrad::io {

class MatFile {
public:
    /// Opens and validates `path`; IoError naming it and what is wrong.
    explicit MatFile(const std::string& path);
    ~MatFile();
    MatFile(const MatFile&) = delete;
    MatFile& operator=(const MatFile&) = delete;

    /// The real double matrix `name` of shape (rows, cols), returned as (cols, rows): MATLAB stores
    /// column-major, so its buffer is already the transpose in row-major order. Non-finite values,
    /// other classes and other shapes raise IoError.
    Array read_transposed(const char* name, std::size_t cols) const;

private:
    std::string path_;
    void* mat_ = nullptr;  // mat_t*; matio.h stays out of this header
};

}  // namespace xgrad::io
