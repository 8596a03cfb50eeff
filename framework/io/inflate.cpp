#include "framework/io/inflate.hpp"

#include <zlib.h>

#include "framework/errors.hpp"

namespace xgrad::io {

std::string inflate(std::string_view compressed, Deflate format, std::size_t limit, const std::string& where) {
    z_stream z{};
    if (inflateInit2(&z, format == Deflate::raw ? -MAX_WBITS : MAX_WBITS) != Z_OK)
        throw IoError(where + ": zlib could not start");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    z.avail_in = static_cast<uInt>(compressed.size());
    std::string out;
    char chunk[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof chunk;
        rc = ::inflate(&z, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - z.avail_out);
        if (out.size() > limit) {
            inflateEnd(&z);
            throw IoError(where + ": inflates to more than " + std::to_string(limit) + " bytes");
        }
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END) throw IoError(where + ": compressed data is corrupt or truncated (zlib)");
    return out;
}

}  // namespace xgrad::io
