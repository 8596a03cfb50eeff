#pragma once
// JSON for the examples' --json files, written by nlohmann-json behind a small interface compiled
// once (common/json.cpp), like CLI11: including <nlohmann/json.hpp> doubles the compile time of a
// model script such as regularization.cpp (about 2 s to 4.4 s), which bench/compare measures.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace xgrad::examples {

/// One JSON value. Objects keep their keys in the order given; strings are escaped (quotes,
/// backslashes, control characters; bytes that are not UTF-8 become U+FFFD); doubles are written
/// shortest-round-trip, and NaN or infinities as null.
class Json {
public:
    Json();  ///< null
    Json(double value);
    Json(bool value);
    Json(std::size_t value);
    Json(std::uint32_t value);
    Json(const std::string& value);
    Json(const char* value);
    ~Json();
    Json(const Json& other);
    Json(Json&& other) noexcept;
    Json& operator=(Json other) noexcept;

    /// {"key": value, ...}, in this order.
    static Json object(std::initializer_list<std::pair<std::string, Json>> members = {});
    /// [value, ...]
    static Json array(std::initializer_list<Json> items = {});

    /// Adds (or replaces) an object's member; a new key goes last.
    Json& set(const std::string& key, Json value);
    /// Appends to an array.
    Json& push_back(Json value);

    /// The text, indented by two spaces, with a final newline.
    std::string dump() const;

    /// Reading back (checkpoints): parse throws IoError naming `where` on malformed text; the
    /// accessors throw IoError naming the missing key or the wrong type.
    static Json parse(const std::string& text, const std::string& where);
    Json at(const std::string& key) const;
    Json at(std::size_t index) const;
    std::size_t size() const;
    /// An object's keys, in order.
    std::vector<std::string> keys() const;
    std::string as_string() const;
    double as_double() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace xgrad::examples
