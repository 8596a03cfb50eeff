#include "framework/io/npy.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>

#include "framework/errors.hpp"
#include "framework/io/files.hpp"
#include "framework/io/inflate.hpp"

namespace xgrad {

namespace {

constexpr char magic[] = "\x93NUMPY";
constexpr std::size_t max_elements = std::size_t{1} << 40;

template <class T>
T read_le(const std::string& b, std::size_t at) {
    T v{};
    std::memcpy(&v, b.data() + at, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(reinterpret_cast<char*>(&v), reinterpret_cast<char*>(&v) + sizeof(T));
    return v;
}

template <class T>
void put_le(std::string& b, T v) {
    char raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(raw, raw + sizeof(T));
    b.append(raw, sizeof(T));
}

/// The value of key 'name' in numpy's header dict, as raw text (up to the next top-level comma).
std::string header_field(const std::string& header, const std::string& name, const std::string& where) {
    const std::string key = "'" + name + "'";
    const auto at = header.find(key);
    if (at == std::string::npos) throw IoError(where + ": .npy header has no " + key + " (header: " + header + ")");
    std::size_t i = header.find(':', at + key.size());
    if (i == std::string::npos) throw IoError(where + ": malformed .npy header: " + header);
    ++i;
    while (i < header.size() && header[i] == ' ') ++i;
    std::size_t end = i;
    if (end < header.size() && header[end] == '(') {
        end = header.find(')', end);
        if (end == std::string::npos) throw IoError(where + ": malformed shape in .npy header: " + header);
        ++end;
    } else {
        while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
    }
    return header.substr(i, end - i);
}

Shape parse_shape(const std::string& text, const std::string& where) {
    Shape shape;
    std::size_t total = 1;
    std::size_t i = 1;  // after '('
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
        if (i >= text.size() || text[i] == ')') break;
        if (!std::isdigit(static_cast<unsigned char>(text[i])))
            throw IoError(where + ": malformed shape " + text + " in .npy header");
        std::size_t d = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            if (d > max_elements) throw IoError(where + ": dimension too large in shape " + text);
            d = d * 10 + static_cast<std::size_t>(text[i++] - '0');
        }
        if (d && total > max_elements / d) throw IoError(where + ": shape " + text + " is too large");
        total *= d ? d : 1;
        shape.push_back(d);
    }
    if (text.empty() || text.front() != '(' || text.back() != ')') throw IoError(where + ": malformed shape " + text);
    return shape;
}

template <class T>
T swap_bytes(T v) {
    char raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    std::reverse(raw, raw + sizeof(T));
    std::memcpy(&v, raw, sizeof(T));
    return v;
}

}  // namespace

std::string npy_bytes(const Array& array) {
    const char* descr = array.dtype() == DType::f32 ? "<f4" : (array.dtype() == DType::i64 ? "<i8" : "<f8");
    std::string shape = "(";
    for (std::size_t d : array.shape()) shape += std::to_string(d) + ", ";
    if (array.ndim() > 1) shape.resize(shape.size() - 2);
    if (array.ndim() == 1) shape.resize(shape.size() - 1);
    shape += ")";
    std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad with spaces so the data starts on a 64-byte boundary, header ends with '\n' (format 1.0).
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::string out(magic, 6);
    out += '\x01';
    out += '\x00';
    put_le<std::uint16_t>(out, static_cast<std::uint16_t>(header.size()));
    out += header;
    detail::dispatch_any(array.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = array.data<T>();
        for (std::size_t i = 0; i < array.size(); ++i) put_le(out, p[i]);
    });
    return out;
}

namespace {

/// What a .npy header says, and where the data starts.
struct NpyHeader {
    DType dtype = DType::f64;
    bool big_endian = false;
    bool fortran_order = false;
    Shape shape;
    std::size_t data_offset = 0;
};

NpyHeader read_npy_header(const std::string& b, const std::string& where) {
    if (b.size() < 10 || b.compare(0, 6, magic, 6) != 0) throw IoError(where + ": not a .npy file (bad magic)");
    const auto major = static_cast<unsigned char>(b[6]);
    std::size_t header_len, offset;
    if (major == 1) {
        header_len = read_le<std::uint16_t>(b, 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (b.size() < 12) throw IoError(where + ": truncated .npy header");
        header_len = read_le<std::uint32_t>(b, 8);
        offset = 12;
    } else {
        throw IoError(where + ": unsupported .npy format version " + std::to_string(major));
    }
    if (header_len > b.size() - offset) throw IoError(where + ": truncated .npy header");
    const std::string header = b.substr(offset, header_len);

    NpyHeader h;
    h.data_offset = offset + header_len;
    const std::string descr = header_field(header, "descr", where);
    if (descr == "'<f8'" || descr == "'=f8'") h.dtype = DType::f64;
    else if (descr == "'<f4'" || descr == "'=f4'") h.dtype = DType::f32;
    else if (descr == "'>f8'") h.dtype = DType::f64, h.big_endian = true;
    else if (descr == "'>f4'") h.dtype = DType::f32, h.big_endian = true;
    else if (descr == "'<i8'" || descr == "'=i8'") h.dtype = DType::i64;
    else if (descr == "'>i8'") h.dtype = DType::i64, h.big_endian = true;
    else throw IoError(where + ": dtype " + descr + " is not supported (float32, float64 or int64)");
    const std::string fortran = header_field(header, "fortran_order", where);
    if (fortran != "False" && fortran != "True") throw IoError(where + ": malformed fortran_order " + fortran);
    h.fortran_order = fortran == "True";
    h.shape = parse_shape(header_field(header, "shape", where), where);
    return h;
}

/// The row-major copy of an array whose buffer holds its elements column-major (Fortran order):
/// element (i0, ..., ik) sits at Σ i_j · stride_j with stride_0 = 1.
template <class T>
Array from_fortran_order(const Array& column_major) {
    const Shape& shape = column_major.shape();
    Array c_order(shape, column_major.dtype());
    const T* p = column_major.data<T>();
    T* q = c_order.data<T>();
    std::vector<std::size_t> index(shape.size(), 0);
    for (std::size_t flat = 0; flat < c_order.size(); ++flat) {
        std::size_t f = 0, stride = 1;
        for (std::size_t d = 0; d < shape.size(); ++d) {
            f += index[d] * stride;
            stride *= shape[d];
        }
        q[flat] = p[f];
        for (std::size_t d = shape.size(); d-- > 0;) {
            if (++index[d] < shape[d]) break;
            index[d] = 0;
        }
    }
    return c_order;
}

}  // namespace

Array parse_npy(const std::string& b, const std::string& where) {
    const NpyHeader h = read_npy_header(b, where);
    // Check the data length before allocating: a header may claim any shape.
    const std::size_t bytes = shape_size(h.shape) * element_size(h.dtype);
    if (b.size() - h.data_offset != bytes)
        throw IoError(where + ": shape " + shape_str(h.shape) + " needs " + std::to_string(bytes) +
                      " bytes of data, the file has " + std::to_string(b.size() - h.data_offset));
    Array out(h.shape, h.dtype);
    detail::dispatch_any(h.dtype, [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        if (bytes) std::memcpy(p, b.data() + h.data_offset, bytes);  // an empty array has no buffer
        if (h.big_endian == (std::endian::native == std::endian::little))
            for (std::size_t i = 0; i < out.size(); ++i) p[i] = swap_bytes(p[i]);
        if (h.fortran_order && h.shape.size() > 1) out = from_fortran_order<T>(out);
    });
    return out;
}

void save_npy(const std::string& path, const Array& array) { write_file_atomic(path, npy_bytes(array)); }
Array load_npy(const std::string& path) { return parse_npy(read_file(path), path); }

bool valid_npz_name(const std::string& name) {
    return !name.empty() && name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

void save_npz(const std::string& path, const std::map<std::string, Array>& arrays) {
    // A stored (uncompressed) zip, as numpy.savez writes: local headers, data, central directory.
    std::string zip, central;
    std::uint16_t count = 0;
    for (const auto& [name, array] : arrays) {
        if (!valid_npz_name(name))
            throw ValueError("save_npz: invalid array name '" + name + "' (it must not be empty, nor hold '/' or NUL)");
        const std::string member = name + ".npy";
        const std::string data = npy_bytes(array);
        if (data.size() > 0xffffffffu || zip.size() > 0xffffffffu) throw IoError(path + ": too large for a zip without zip64");
        const auto crc = static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
        const auto offset = static_cast<std::uint32_t>(zip.size());
        auto common = [&](std::string& out) {
            put_le<std::uint16_t>(out, 20);  // version needed
            put_le<std::uint16_t>(out, 0);   // flags
            put_le<std::uint16_t>(out, 0);   // method: stored
            put_le<std::uint16_t>(out, 0);   // time
            put_le<std::uint16_t>(out, 0x21);  // date: 1980-01-01
            put_le<std::uint32_t>(out, crc);
            put_le<std::uint32_t>(out, static_cast<std::uint32_t>(data.size()));
            put_le<std::uint32_t>(out, static_cast<std::uint32_t>(data.size()));
            put_le<std::uint16_t>(out, static_cast<std::uint16_t>(member.size()));
            put_le<std::uint16_t>(out, 0);  // extra length
        };
        put_le<std::uint32_t>(zip, 0x04034b50);
        common(zip);
        zip += member;
        zip += data;
        put_le<std::uint32_t>(central, 0x02014b50);
        put_le<std::uint16_t>(central, 20);  // version made by
        common(central);
        put_le<std::uint16_t>(central, 0);  // comment length
        put_le<std::uint16_t>(central, 0);  // disk
        put_le<std::uint16_t>(central, 0);  // internal attributes
        put_le<std::uint32_t>(central, 0);  // external attributes
        put_le<std::uint32_t>(central, offset);
        central += member;
        if (count == 0xffff) throw IoError(path + ": more than 65 535 arrays for a zip without zip64");
        ++count;
    }
    if (zip.size() > 0xffffffffu || central.size() > 0xffffffffu - zip.size())
        throw IoError(path + ": too large for a zip without zip64");
    const auto central_offset = static_cast<std::uint32_t>(zip.size());
    zip += central;
    put_le<std::uint32_t>(zip, 0x06054b50);
    put_le<std::uint16_t>(zip, 0);
    put_le<std::uint16_t>(zip, 0);
    put_le<std::uint16_t>(zip, count);
    put_le<std::uint16_t>(zip, count);
    put_le<std::uint32_t>(zip, static_cast<std::uint32_t>(central.size()));
    put_le<std::uint32_t>(zip, central_offset);
    put_le<std::uint16_t>(zip, 0);
    write_file_atomic(path, zip);
}

namespace {

/// One member of a zip file, as its central directory entry describes it.
struct ZipMember {
    std::string name;
    std::uint16_t method = 0;
    std::uint32_t crc = 0;
    std::uint64_t compressed = 0, size = 0, local_header = 0;
};

/// Where the central directory starts and how many entries it has, from the end-of-central-
/// directory record (which may be followed by a comment of up to 64 KiB).
std::pair<std::size_t, std::size_t> find_central_directory(const std::string& b, const std::string& where) {
    if (b.size() < 22) throw IoError(where + ": not a .npz (zip) file: too short");
    for (std::size_t i = b.size() - 22 + 1; i-- > 0 && b.size() - i <= 22 + 65535;)
        if (read_le<std::uint32_t>(b, i) == 0x06054b50)
            return {read_le<std::uint32_t>(b, i + 16), read_le<std::uint16_t>(b, i + 10)};
    throw IoError(where + ": not a .npz (zip) file: no end-of-central-directory record");
}

/// The central directory entry at `at`; advances `at` past it.
ZipMember read_central_entry(const std::string& b, std::size_t& at, std::size_t e, const std::string& where) {
    if (at > b.size() || b.size() - at < 46 || read_le<std::uint32_t>(b, at) != 0x02014b50)
        throw IoError(where + ": corrupt zip central directory (entry " + std::to_string(e) + ")");
    ZipMember m;
    m.method = read_le<std::uint16_t>(b, at + 10);
    m.crc = read_le<std::uint32_t>(b, at + 16);
    m.compressed = read_le<std::uint32_t>(b, at + 20);
    m.size = read_le<std::uint32_t>(b, at + 24);
    const std::size_t name_len = read_le<std::uint16_t>(b, at + 28), extra_len = read_le<std::uint16_t>(b, at + 30),
                      comment_len = read_le<std::uint16_t>(b, at + 32);
    m.local_header = read_le<std::uint32_t>(b, at + 42);
    if (b.size() - at - 46 < name_len + extra_len + comment_len) throw IoError(where + ": corrupt zip central directory");
    m.name = b.substr(at + 46, name_len);
    // zip64: the real values sit in extra field 0x0001, in this order, for each field that is 0xffffffff.
    const std::size_t extra_end = at + 46 + name_len + extra_len;
    for (std::size_t x = at + 46 + name_len; x + 4 <= extra_end;) {
        const auto id = read_le<std::uint16_t>(b, x), len = read_le<std::uint16_t>(b, x + 2);
        if (x + 4 + len > extra_end) break;
        if (id == 1) {
            std::size_t p = x + 4;
            auto take = [&](std::uint64_t& field) {
                if (field == 0xffffffffu && p + 8 <= x + 4 + len) field = read_le<std::uint64_t>(b, p), p += 8;
            };
            take(m.size);
            take(m.compressed);
            take(m.local_header);
        }
        x += 4 + len;
    }
    at = extra_end + comment_len;
    return m;
}

/// A member's bytes: stored or inflated, sizes and CRC checked.
std::string member_bytes(const std::string& b, const ZipMember& m, const std::string& where) {
    const std::string what = where + ": member '" + m.name + "'";
    if (m.local_header > b.size() || b.size() - m.local_header < 30 ||
        read_le<std::uint32_t>(b, m.local_header) != 0x04034b50)
        throw IoError(where + ": corrupt zip local header for '" + m.name + "'");
    const std::size_t data_at = m.local_header + 30 + read_le<std::uint16_t>(b, m.local_header + 26) +
                                read_le<std::uint16_t>(b, m.local_header + 28);
    if (data_at > b.size() || b.size() - data_at < m.compressed) throw IoError(what + " is truncated");
    if (m.size > (std::uint64_t{1} << 40)) throw IoError(what + " is too large");
    std::string data;
    if (m.method == 0) {
        if (m.compressed != m.size) throw IoError(where + ": stored member '" + m.name + "' has inconsistent sizes");
        data = b.substr(data_at, m.compressed);
    } else if (m.method == 8) {
        // Deflate cannot expand more than about 1032:1; a larger claim is a corrupt header.
        if (m.size > m.compressed * 1032 + 1024)
            throw IoError(what + " claims " + std::to_string(m.size) + " bytes from " + std::to_string(m.compressed) +
                          " compressed bytes");
        data = io::inflate(std::string_view(b).substr(data_at, m.compressed), io::Deflate::raw, m.size, what);
        if (data.size() != m.size) throw IoError(what + " does not inflate to its recorded size");
    } else {
        throw IoError(what + " uses zip method " + std::to_string(m.method) + " (only stored and deflate are supported)");
    }
    if (static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()))) !=
        m.crc)
        throw IoError(what + " fails its CRC check");
    return data;
}

}  // namespace

std::map<std::string, Array> parse_npz(const std::string& b, const std::string& where) {
    auto [at, entries] = find_central_directory(b, where);
    std::map<std::string, Array> out;
    for (std::size_t e = 0; e < entries; ++e) {
        const ZipMember member = read_central_entry(b, at, e, where);
        std::string key = member.name;
        if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
        out[key] = parse_npy(member_bytes(b, member, where), where + ":" + member.name);
    }
    return out;
}

std::map<std::string, Array> load_npz(const std::string& path) { return parse_npz(read_file(path), path); }

}  // namespace xgrad
