#pragma once
// IDX, the file format of the MNIST family (MNIST, Fashion-MNIST, EMNIST, KMNIST), plain or gzipped.
//
//     0x00 0x00 <type> <ndim>   then ndim big-endian u32 sizes, then the values, big-endian, row-major
//
// Element types and what they load as (an Array holds float32, float64 or int64):
//
//     type  values    1-d (labels)   2-d to 4-d (images, features)
//     0x08  uint8     int64          float32   (every value exact)
//     0x09  int8      int64          float32   (exact)
//     0x0B  int16     int64          float32   (exact: |v| <= 2^15 < 2^24)
//     0x0C  int32     int64          float64   (exact; float32 would round)
//     0x0D  float32   float32        float32
//     0x0E  float64   float64        float64
//
// Integer vectors are labels or indices, which xgrad keeps as int64 (one_hot, cross_entropy,
// index_select take them as they are); integer images become the smallest float that holds every
// value exactly, so pixels stay 0..255 and scaling is the caller's choice.
//
// Gzip is recognised by its magic bytes (1f 8b), not by the file name. Every size is checked against
// the data before anything is allocated; a compressed stream may not inflate beyond what its own
// header declares (nor beyond 2 GiB), so a small file cannot claim gigabytes.

#include <string>

#include "framework/array.hpp"

namespace xgrad {

/// The array in an IDX file (plain or gzipped). IoError naming the path and the problem: not an IDX
/// file, an unknown element type, 0 or more than 4 dimensions, data shorter or longer than the
/// declared shape, a corrupt or truncated gzip stream.
Array load_idx(const std::string& path);

/// The same from the file's bytes; `where` names the source in error messages (used by the fuzz target).
Array parse_idx(const std::string& bytes, const std::string& where);

}  // namespace xgrad
