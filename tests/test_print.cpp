// Printing: arrays and tensors print as numpy 1.24 prints them (the expected bodies below are numpy's
// own output). tests/print_vs_numpy.py compares random arrays with numpy itself.

#include <limits>
#include <numeric>
#include <sstream>

#include "helpers.hpp"

using namespace xgrad;

namespace {
Array iota_array(std::size_t n) {
    std::vector<double> values(n);
    std::iota(values.begin(), values.end(), 0.0);
    return Array({n}, values);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(print)

BOOST_AUTO_TEST_CASE(matrix_aligns_points_and_indents_rows) {
    BOOST_TEST(to_string(Array({2, 2}, {1.5, -2, 3, 4})) ==
               "array([[ 1.5, -2. ],\n"
               "       [ 3. ,  4. ]], dtype=float64, shape=(2, 2))");
}

BOOST_AUTO_TEST_CASE(float32_prints_its_own_shortest_digits) {
    // float32 0.1 is 0.100000001490116...: numpy prints the shortest string that reads back as that float32.
    BOOST_TEST(to_string(Array::scalar(0.1, DType::f32)) == "array(0.1, dtype=float32, shape=())");
    BOOST_TEST(to_string(Array({2}, {0.1, 0.25}, DType::f32)) ==
               "array([0.1 , 0.25], dtype=float32, shape=(2,))");
}

BOOST_AUTO_TEST_CASE(int64_right_aligned) {
    BOOST_TEST(to_string(Array({3}, {1, -20, 300}, DType::i64)) ==
               "array([  1, -20, 300], dtype=int64, shape=(3,))");
}

BOOST_AUTO_TEST_CASE(zero_d_and_empty) {
    BOOST_TEST(to_string(Array::scalar(3.0)) == "array(3., dtype=float64, shape=())");
    BOOST_TEST(to_string(Array({2, 0})) == "array([], dtype=float64, shape=(2, 0))");
    BOOST_TEST(to_string(Array({0}, DType::i64)) == "array([], dtype=int64, shape=(0,))");
}

BOOST_AUTO_TEST_CASE(nan_and_inf_take_the_column_width) {
    const double nan = std::numeric_limits<double>::quiet_NaN(),
                 inf = std::numeric_limits<double>::infinity();
    BOOST_TEST(to_string(Array({3}, {nan, 1.5, -inf})) ==
               "array([ nan,  1.5, -inf], dtype=float64, shape=(3,))");
}

BOOST_AUTO_TEST_CASE(scientific_when_magnitudes_are_extreme_or_far_apart) {
    BOOST_TEST(to_string(Array({3}, {1e-5, 1.0, 1e3})) ==
               "array([1.e-05, 1.e+00, 1.e+03], dtype=float64, shape=(3,))");
    BOOST_TEST(to_string(Array({2}, {1.5, 2e8})) == "array([1.5e+00, 2.0e+08], dtype=float64, shape=(2,))");
}

BOOST_AUTO_TEST_CASE(precision_and_line_width) {
    PrintOptions three;
    three.precision = 3;
    BOOST_TEST(to_string(Array({2}, {3.14159265, -2.71828183}), three) ==
               "array([ 3.142, -2.718], dtype=float64, shape=(2,))");
    PrintOptions narrow;
    narrow.linewidth = 30;
    BOOST_TEST(to_string(iota_array(20), narrow) ==
               "array([ 0.,  1.,  2.,  3.,\n"
               "        4.,  5.,  6.,  7.,\n"
               "        8.,  9., 10., 11.,\n"
               "       12., 13., 14., 15.,\n"
               "       16., 17., 18., 19.], dtype=float64, shape=(20,))");
}

BOOST_AUTO_TEST_CASE(more_than_threshold_elements_are_summarised) {
    BOOST_TEST(to_string(iota_array(2000)) ==
               "array([0.000e+00, 1.000e+00, 2.000e+00, ..., 1.997e+03, 1.998e+03,\n"
               "       1.999e+03], dtype=float64, shape=(2000,))");
    BOOST_TEST(to_string(iota_array(2000).reshaped({2, 1000})) ==
               "array([[0.000e+00, 1.000e+00, 2.000e+00, ..., 9.970e+02, 9.980e+02,\n"
               "        9.990e+02],\n"
               "       [1.000e+03, 1.001e+03, 1.002e+03, ..., 1.997e+03, 1.998e+03,\n"
               "        1.999e+03]], dtype=float64, shape=(2, 1000))");
}

BOOST_AUTO_TEST_CASE(tensor_adds_requires_grad_and_name) {
    BOOST_TEST(to_string(parameter(Array({2}, {1, 2}), "w")) ==
               "tensor([1., 2.], dtype=float64, shape=(2,), requires_grad=true, name=\"w\")");
    // Continuation lines indent past "tensor(", as numpy's prefix does; no name, no name field.
    BOOST_TEST(to_string(constant(Array({2, 2}, {1, 2, 3, 4}))) ==
               "tensor([[1., 2.],\n"
               "        [3., 4.]], dtype=float64, shape=(2, 2), requires_grad=false)");
}

BOOST_AUTO_TEST_CASE(undefined) {
    BOOST_TEST(to_string(Array()) == "array(undefined)");
    BOOST_TEST(to_string(Tensor()) == "tensor(undefined)");
}

BOOST_AUTO_TEST_CASE(stream_and_str_use_the_same_printer) {
    const Array a({2}, {0.5, -1});
    const Tensor t = parameter(a, "b");
    std::ostringstream os;
    os << a << "|" << t;
    BOOST_TEST(os.str() == to_string(a) + "|" + to_string(t));
    BOOST_TEST(a.str() == to_string(a));
}

BOOST_AUTO_TEST_SUITE_END()
