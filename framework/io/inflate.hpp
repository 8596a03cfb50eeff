#pragma once
// The one inflate (zlib's), for every compressed format xgrad reads: .npz members (raw deflate)
// and compressed MAT v5 variables (zlib streams).

#include <cstddef>
#include <string>
#include <string_view>

namespace xgrad::io {

enum class Deflate { raw, zlib };

/// The inflated bytes of `compressed`. IoError naming `where` when the stream is corrupt or
/// truncated, or would inflate to more than `limit` bytes (a bound against decompression bombs).
std::string inflate(std::string_view compressed, Deflate format, std::size_t limit, const std::string& where);

}  // namespace xgrad::io
