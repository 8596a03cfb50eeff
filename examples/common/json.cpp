#include "json.hpp"

#include <nlohmann/json.hpp>

#include "framework/errors.hpp"

namespace xgrad::examples {

struct Json::Impl {
    nlohmann::ordered_json value;
};

Json::Json() : impl_(std::make_unique<Impl>()) {}
Json::Json(double value) : impl_(std::make_unique<Impl>(Impl{value})) {}
Json::Json(bool value) : impl_(std::make_unique<Impl>(Impl{value})) {}
Json::Json(std::size_t value) : impl_(std::make_unique<Impl>(Impl{value})) {}
Json::Json(std::uint32_t value) : impl_(std::make_unique<Impl>(Impl{value})) {}
Json::Json(const std::string& value) : impl_(std::make_unique<Impl>(Impl{value})) {}
Json::Json(const char* value) : impl_(std::make_unique<Impl>(Impl{value})) {}
Json::~Json() = default;
Json::Json(const Json& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Json::Json(Json&& other) noexcept : impl_(std::move(other.impl_)) {}
Json& Json::operator=(Json other) noexcept {
    impl_ = std::move(other.impl_);
    return *this;
}

Json Json::object(std::initializer_list<std::pair<std::string, Json>> members) {
    Json json;
    json.impl_->value = nlohmann::ordered_json::object();
    for (const auto& [key, value] : members) json.impl_->value[key] = value.impl_->value;
    return json;
}

Json Json::array(std::initializer_list<Json> items) {
    Json json;
    json.impl_->value = nlohmann::ordered_json::array();
    for (const Json& item : items) json.impl_->value.push_back(item.impl_->value);
    return json;
}

Json& Json::set(const std::string& key, Json value) {
    impl_->value[key] = std::move(value.impl_->value);
    return *this;
}

Json& Json::push_back(Json value) {
    impl_->value.push_back(std::move(value.impl_->value));
    return *this;
}

std::string Json::dump() const {
    // replace: a name that is not UTF-8 (a file name, say) must not make the whole file unwritable.
    return impl_->value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

Json Json::parse(const std::string& text, const std::string& where) {
    Json json;
    try {
        json.impl_->value = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw IoError(where + ": not valid JSON (" + e.what() + ")");
    }
    return json;
}

Json Json::at(const std::string& key) const {
    if (!impl_->value.is_object() || !impl_->value.contains(key))
        throw IoError("JSON: no member '" + key + "'");
    Json json;
    json.impl_->value = impl_->value.at(key);
    return json;
}

Json Json::at(std::size_t index) const {
    if (!impl_->value.is_array() || index >= impl_->value.size())
        throw IoError("JSON: no element " + std::to_string(index));
    Json json;
    json.impl_->value = impl_->value.at(index);
    return json;
}

std::size_t Json::size() const { return impl_->value.size(); }

std::vector<std::string> Json::keys() const {
    if (!impl_->value.is_object()) throw IoError("JSON: expected an object, got " + impl_->value.dump());
    std::vector<std::string> out;
    for (const auto& item : impl_->value.items()) out.push_back(item.key());
    return out;
}

std::string Json::as_string() const {
    if (!impl_->value.is_string()) throw IoError("JSON: expected a string, got " + impl_->value.dump());
    return impl_->value.get<std::string>();
}

double Json::as_double() const {
    if (!impl_->value.is_number()) throw IoError("JSON: expected a number, got " + impl_->value.dump());
    return impl_->value.get<double>();
}

}  // namespace xgrad::examples
