#include "json.hpp"

#include <nlohmann/json.hpp>

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

}  // namespace xgrad::examples
