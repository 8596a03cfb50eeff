#pragma once
// Shared test helpers: where ../shared is, tolerance checks on Arrays, exception-message checks.

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <string>

#include "xgrad.hpp"

namespace xgrad::test {

/// ../shared beside the repository (XGRAD_SHARED overrides it).
inline std::string shared_dir() {
    if (const char* env = std::getenv("XGRAD_SHARED")) return env;
    return XGRAD_SHARED_DIR;
}

inline void check_close(const Array& actual, const std::vector<double>& expected, double tol) {
    BOOST_REQUIRE_EQUAL(actual.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        BOOST_TEST(std::abs(actual.flat(i) - expected[i]) <= tol,
                   "element " << i << ": " << actual.flat(i) << " vs expected " << expected[i]);
}

/// Runs f, requires it to throw E, and returns the message.
template <class E, class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    BOOST_FAIL("expected an exception that was not thrown");
    return {};
}

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace xgrad::test
