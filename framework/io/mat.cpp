#include "framework/io/mat.hpp"

#include <matio.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <tuple>

#include "framework/errors.hpp"
#include "framework/io/files.hpp"
#include "framework/io/inflate.hpp"

namespace xgrad::io {

namespace {

struct MatCloser {
    void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
    void operator()(matvar_t* v) const { Mat_VarFree(v); }
};

/// Reads a real double matrix variable of shape (rows, cols) and returns it as (cols, rows):
/// MATLAB stores column-major, so the buffer already is the transpose in row-major order.
Array read_matrix_transposed(mat_t* mat, const std::string& path, const char* name, std::size_t cols) {
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
    void walk(const std::string& b, std::size_t at, std::size_t end, bool inflated_level = false) const {
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
                // MATLAB never nests compressed elements; a file that does would inflate level after
                // level (each bounded, all held at once, each a stack frame).
                if (inflated_level) fail("a compressed variable inside a compressed variable");
                const std::string inflated = inflate(std::string_view(b).substr(at + 8, size), Deflate::zlib, std::size_t{64} << 20, path);
                walk(inflated, 0, inflated.size(), true);
            }
            at += span;
        }
    }
};

/// Whether the 128-byte header says version 0x0200 (MATLAB -v7.3, HDF5), which is what libmatio
/// goes by — the header's text alone proves nothing (a fuzzer found a v5 file with v7.3's text).
bool is_mat73(const std::string& bytes) {
    if (bytes.size() < 128) return false;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    if (bytes[126] == 'I' && bytes[127] == 'M') return byte(124) == 0x00 && byte(125) == 0x02;  // little-endian
    if (bytes[126] == 'M' && bytes[127] == 'I') return byte(124) == 0x02 && byte(125) == 0x00;  // big-endian
    return false;
}

/// Validates a MAT v5 file's structure before libmatio reads it: a truncated file is reported as
/// such (libmatio may otherwise inflate a cut variable into a silently zero-filled buffer), and
/// matrix headers are checked (libmatio allocates whatever dimensions a header claims). Returns
/// whether the file is a v7.3 one, which is left to libmatio.
bool check_mat_structure(const std::string& path) {
    const std::string bytes = read_file(path);
    // MATLAB's -v7.3 files are HDF5 files behind the same 128-byte text header, version 0x0200.
    // libmatio reads them through HDF5 (Debian's is built with it), which checks its own structure.
    if (is_mat73(bytes)) return true;
    if (bytes.size() < 128) throw IoError(path + ": " + std::to_string(bytes.size()) + " bytes is too short for a MAT v5 file");
    // The indicator is 'M','I' written as a 16-bit number: it reads "IM" in a little-endian file.
    const bool little_endian_file = bytes[126] == 'I' && bytes[127] == 'M';
    const bool swapped = little_endian_file != (std::endian::native == std::endian::little);
    if (!little_endian_file && !(bytes[126] == 'M' && bytes[127] == 'I'))
        throw IoError(path + ": not a MATLAB v5 .mat file (no endian indicator at byte 126)");
    MatReader{path, swapped}.walk(bytes, 128, bytes.size());
    return false;
}

}  // namespace

MatFile::MatFile(const std::string& path) : path_(path) {
    const bool v73 = check_mat_structure(path);
    mat_ = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
    if (!mat_) {
        if (v73)
            throw IoError(path + ": a MAT v7.3 (HDF5) file, which this libmatio cannot read; save it with -v7");
        throw IoError(path + ": not a readable MATLAB .mat file");
    }
}

MatFile::~MatFile() { Mat_Close(static_cast<mat_t*>(mat_)); }

Array MatFile::read_transposed(const char* name, std::size_t cols) const {
    return read_matrix_transposed(static_cast<mat_t*>(mat_), path_, name, cols);
}

}  // namespace xgrad::io
