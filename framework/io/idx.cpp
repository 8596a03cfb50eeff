#include "framework/io/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

#include "framework/errors.hpp"
#include "framework/io/files.hpp"

namespace xgrad {

namespace {

// A bound on what a header may declare, so the product of four u32 sizes cannot overflow and a
// later element-size multiplication (up to 8 bytes) cannot either.
constexpr std::uint64_t max_data_bytes = std::uint64_t{1} << 40;
// A gzipped file may not inflate beyond this, whatever its header says: Fashion-MNIST's largest
// file inflates to 47 MB, and a compressed stream can expand a thousandfold.
constexpr std::size_t max_inflated_bytes = std::size_t{1} << 31;

std::string hex(unsigned char byte) {
    constexpr char digits[] = "0123456789abcdef";
    return std::string("0x") + digits[byte >> 4] + digits[byte & 15];
}

struct ElementType {
    unsigned char code;
    const char* name;
    std::size_t size;
};
constexpr ElementType element_types[] = {{0x08, "uint8", 1},   {0x09, "int8", 1},    {0x0B, "int16", 2},
                                         {0x0C, "int32", 4},   {0x0D, "float32", 4}, {0x0E, "float64", 8}};

/// What an IDX header says, and where the values start.
struct IdxHeader {
    ElementType type;
    Shape shape;
    std::size_t data_offset = 0;
    std::size_t data_bytes = 0;  ///< what the shape needs: product of the sizes × element size
};

/// The header at the start of `b`, or nothing when `b` is too short to hold all of it (the caller
/// decides whether that means truncated or "inflate more"). IoError for anything else wrong with it.
std::optional<IdxHeader> read_header(std::string_view b, const std::string& where) {
    if (b.size() < 4) return std::nullopt;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    if (byte(0) != 0 || byte(1) != 0)
        throw IoError(where + ": not an IDX file: it starts " + hex(byte(0)) + " " + hex(byte(1)) +
                      ", an IDX file starts 0x00 0x00 (nor is it gzip, which starts 0x1f 0x8b)");
    const auto type = std::find_if(std::begin(element_types), std::end(element_types),
                                   [&](const ElementType& t) { return t.code == byte(2); });
    if (type == std::end(element_types))
        throw IoError(where + ": unknown IDX element type " + hex(byte(2)) +
                      " (known: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64)");
    const std::size_t ndim = byte(3);
    if (ndim == 0 || ndim > 4)
        throw IoError(where + ": the IDX header declares " + std::to_string(ndim) +
                      " dimensions, expected 1 to 4");
    if (b.size() < 4 + 4 * ndim) return std::nullopt;
    IdxHeader h{*type, Shape(ndim), 4 + 4 * ndim, 0};
    // The product of the non-zero sizes is bounded too: (0, 2^32 - 1, ...) is empty, but each of its
    // slices is not, and Array refuses a shape whose sizes multiply past what memory can address.
    std::uint64_t bytes = type->size;
    bool empty = false;
    for (std::size_t d = 0; d < ndim; ++d) {
        const std::size_t at = 4 + 4 * d;
        const std::uint32_t size = std::uint32_t{byte(at)} << 24 | std::uint32_t{byte(at + 1)} << 16 |
                                   std::uint32_t{byte(at + 2)} << 8 | std::uint32_t{byte(at + 3)};
        h.shape[d] = size;
        empty = empty || size == 0;
        if (size != 0 && bytes > max_data_bytes / size)  // checked before multiplying: no wrap-around
            throw IoError(where + ": the IDX header declares shape " + shape_str(h.shape) + " of " +
                          type->name + ", more than 2^40 bytes of data");
        bytes *= size ? size : 1;
    }
    h.data_bytes = empty ? 0 : static_cast<std::size_t>(bytes);
    return h;
}

/// The gzip stream `whole`, inflated (zlib, gzip wrapper: its CRC-32 and length are checked).
/// Once the IDX header inside has come out, output beyond what it declares is refused, so a small
/// file cannot inflate to gigabytes; nor can anything inflate beyond max_inflated_bytes.
std::string gunzip_idx(const std::string_view whole, const std::string& where) {
    std::string_view compressed = whole;  // what is left to feed to zlib
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw IoError(where + ": zlib could not start");
    struct End {
        z_stream& z;
        ~End() { inflateEnd(&z); }
    } end{z};
    const auto fail = [&](const std::string& what) {
        return IoError(where + ": " + what + (z.msg ? std::string(" (zlib: ") + z.msg + ")" : std::string()));
    };
    std::string out;
    std::size_t limit = max_inflated_bytes;
    bool header_seen = false;
    char chunk[1 << 16];
    for (;;) {
        // zlib counts input in uInt: feed a larger buffer in pieces.
        if (z.avail_in == 0 && !compressed.empty()) {
            const std::size_t n = std::min<std::size_t>(compressed.size(), UINT_MAX);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
            z.avail_in = static_cast<uInt>(n);
            compressed.remove_prefix(n);
        }
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof chunk;
        const int rc = ::inflate(&z, Z_NO_FLUSH);
        if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR)
            throw fail("corrupt gzip stream");
        if (rc == Z_MEM_ERROR) throw fail("out of memory while inflating");
        out.append(chunk, sizeof chunk - z.avail_out);
        if (!header_seen) {
            if (const auto h = read_header(out, where)) {
                header_seen = true;
                if (h->data_bytes > max_inflated_bytes - h->data_offset)
                    throw IoError(where + ": the IDX header declares shape " + shape_str(h->shape) + " of " +
                                  h->type.name + ", more than the 2 GiB a gzipped IDX file may inflate to");
                limit = h->data_offset + h->data_bytes;
                // Deflate expands at most 1032:1, so a larger claim is a damaged or hostile header;
                // checked before the output is reserved, which is then bounded by the input's size.
                if (limit > whole.size() * 1032 + 1024)
                    throw IoError(where + ": the IDX header declares shape " + shape_str(h->shape) + " of " +
                                  h->type.name + " (" + std::to_string(limit) + " bytes), more than a " +
                                  std::to_string(whole.size()) + "-byte gzip stream can inflate to");
                out.reserve(limit + 1);
            }
        }
        if (out.size() > limit)
            throw IoError(where + ": the gzip stream inflates to more than the " + std::to_string(limit) +
                          " bytes " +
                          (header_seen ? "its IDX header declares" : "a gzipped IDX file may hold"));
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0 && compressed.empty())
            throw IoError(where + ": the gzip stream is truncated (it ends after " +
                          std::to_string(out.size()) + " inflated bytes)");
    }
    // One gzip member: bytes after it are a damaged or concatenated file, not padding to ignore.
    if (const std::size_t rest = z.avail_in + compressed.size())
        throw IoError(where + ": " + std::to_string(rest) + " bytes after the end of the gzip stream");
    return out;
}

/// The big-endian element at p.
template <class Stored>
Stored decode(const unsigned char* p) {
    using Bits = std::conditional_t<
        sizeof(Stored) == 1, std::uint8_t,
        std::conditional_t<sizeof(Stored) == 2, std::uint16_t,
                           std::conditional_t<sizeof(Stored) == 4, std::uint32_t, std::uint64_t>>>;
    Bits bits = 0;
    for (std::size_t k = 0; k < sizeof(Stored); ++k) bits = static_cast<Bits>(bits << 8 | Bits{p[k]});
    return std::bit_cast<Stored>(bits);
}

template <class Stored>
void decode_all(const unsigned char* p, Array& out) {
    detail::dispatch_any(out.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* o = out.data<T>();
        for (std::size_t i = 0; i < out.size(); ++i)
            o[i] = static_cast<T>(decode<Stored>(p + i * sizeof(Stored)));
    });
}

/// The dtype an element type loads as (the table in idx.hpp).
DType loaded_dtype(unsigned char code, std::size_t ndim) {
    if (code == 0x0D) return DType::f32;
    if (code == 0x0E) return DType::f64;
    if (ndim == 1) return DType::i64;
    return code == 0x0C ? DType::f64 : DType::f32;
}

/// An uncompressed IDX file.
Array parse_plain(std::string_view bytes, const std::string& where) {
    const std::optional<IdxHeader> h = read_header(bytes, where);
    if (!h)
        throw IoError(where + ": truncated IDX header (the file has " + std::to_string(bytes.size()) +
                      " bytes)");
    // The data length is checked before anything is allocated: a header may claim any shape.
    const std::size_t present = bytes.size() - h->data_offset;
    if (present != h->data_bytes)
        throw IoError(where + ": shape " + shape_str(h->shape) + " of " + h->type.name + " needs " +
                      std::to_string(h->data_bytes) + " bytes of data, the file has " +
                      std::to_string(present) +
                      (present < h->data_bytes ? " (truncated)" : " (trailing bytes)"));
    Array out = Array::uninitialized(h->shape, loaded_dtype(h->type.code, h->shape.size()));
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + h->data_offset;
    switch (h->type.code) {
        case 0x08: decode_all<std::uint8_t>(p, out); break;
        case 0x09: decode_all<std::int8_t>(p, out); break;
        case 0x0B: decode_all<std::int16_t>(p, out); break;
        case 0x0C: decode_all<std::int32_t>(p, out); break;
        case 0x0D: decode_all<float>(p, out); break;
        default: decode_all<double>(p, out); break;
    }
    return out;
}

}  // namespace

Array parse_idx(const std::string& bytes, const std::string& where) {
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
        static_cast<unsigned char>(bytes[1]) == 0x8b)
        return parse_plain(gunzip_idx(bytes, where), where);
    return parse_plain(bytes, where);
}

Array load_idx(const std::string& path) { return parse_idx(read_file(path), path); }

}  // namespace xgrad
