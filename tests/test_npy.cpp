// numpy file formats: .npy/.npz round trips, Fortran order and big-endian input, model parameter
// save/load, and clear errors for malformed files. (tests/numpy_interop.py checks numpy itself.)

#include <filesystem>
#include <fstream>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {
std::string temp(const std::string& name) { return (std::filesystem::temp_directory_path() / ("xgrad_npy_" + name)).string(); }

std::string header(const std::string& dict) {
    std::string h = dict;
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(h.size() & 0xff);
    out += static_cast<char>(h.size() >> 8);
    return out + h;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(npy)

BOOST_AUTO_TEST_CASE(npy_round_trips_every_shape_and_dtype) {
    Generator gen(1);
    for (DType dt : {DType::f64, DType::f32})
        for (const Shape& shape : std::vector<Shape>{{}, {5}, {2, 3}, {2, 3, 4}, {0, 3}}) {
            const Array a = gen.randn(shape, dt);
            save_npy(temp("a.npy"), a);
            const Array b = load_npy(temp("a.npy"));
            BOOST_TEST(a.equals(b), shape_str(shape) << " " << dtype_name(dt));
        }
}

BOOST_AUTO_TEST_CASE(npz_round_trip_with_names) {
    Generator gen(2);
    const std::map<std::string, Array> arrays = {{"W1", gen.randn({20, 2})}, {"b1", Array({20, 1})},
                                                 {"x32", gen.randn({3}, DType::f32)}};
    save_npz(temp("p.npz"), arrays);
    const auto back = load_npz(temp("p.npz"));
    BOOST_REQUIRE_EQUAL(back.size(), 3u);
    for (const auto& [name, a] : arrays) BOOST_TEST(back.at(name).equals(a), name);
}

BOOST_AUTO_TEST_CASE(fortran_order_and_big_endian_are_read) {
    // [[1, 2, 3], [4, 5, 6]] stored column-major: 1 4 2 5 3 6.
    std::string f = header("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }");
    for (double v : {1.0, 4.0, 2.0, 5.0, 3.0, 6.0}) f.append(reinterpret_cast<const char*>(&v), 8);
    const Array a = parse_npy(f, "fortran.npy");
    BOOST_TEST((a.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6}));
    std::string be = header("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }");
    for (float v : {1.5f, -2.0f}) {
        char raw[4];
        std::memcpy(raw, &v, 4);
        std::reverse(raw, raw + 4);
        be.append(raw, 4);
    }
    const Array b = parse_npy(be, "be.npy");
    BOOST_TEST((b.dtype() == DType::f32));
    BOOST_TEST((b.to_vector() == std::vector<double>{1.5, -2.0}));
}

BOOST_AUTO_TEST_CASE(int64_labels_round_trip) {
    const Array labels({2, 3}, {0, 9, -4, 1234567890123.0, 7, 2}, DType::i64);
    const Array back = parse_npy(npy_bytes(labels), "labels.npy");
    BOOST_TEST((back.dtype() == DType::i64));
    BOOST_TEST(back.equals(labels));
    BOOST_TEST(contains(npy_bytes(labels), "'<i8'"));
}

BOOST_AUTO_TEST_CASE(malformed_files_get_clear_errors) {
    BOOST_TEST(contains(message_of<IoError>([] { parse_npy("hello", "x.npy"); }), "x.npy"));
    BOOST_TEST(contains(message_of<IoError>([] { parse_npy(header("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }") + std::string(4, '\0'), "int.npy"); }),
                        "'<i4'"));
    const std::string short_data = header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }") + std::string(16, '\0');
    const std::string msg = message_of<IoError>([&] { parse_npy(short_data, "short.npy"); });
    BOOST_TEST(contains(msg, "short.npy"));
    BOOST_TEST(contains(msg, "24 bytes"));
    BOOST_TEST(contains(message_of<IoError>([] { parse_npz("not a zip file at all, no end record here", "bad.npz"); }), "bad.npz"));
    BOOST_TEST(contains(message_of<IoError>([] { load_npy("/nonexistent/w.npy"); }), "/nonexistent/w.npy"));
    // A zip whose member is cut short.
    save_npz(temp("cut.npz"), {{"W", Array({10})}});
    std::ifstream in(temp("cut.npz"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes[100] ^= 0x55;  // corrupt the data: the CRC check must notice
    BOOST_TEST(contains(message_of<IoError>([&] { parse_npz(bytes, "crc.npz"); }), "CRC"));
}

BOOST_AUTO_TEST_CASE(model_parameters_save_and_load) {
    RegNetConfig config;
    auto a = make_regularization_net(config);
    save_parameters(*a, temp("model.npz"));
    config.seed = 4;
    auto b = make_regularization_net(config);
    BOOST_TEST(!a->parameters()[0].value().equals(b->parameters()[0].value()));
    load_parameters(*b, temp("model.npz"));
    for (std::size_t k = 0; k < a->parameters().size(); ++k)
        BOOST_TEST(a->parameters()[k].value().equals(b->parameters()[k].value()));

    config.layer_dims = {2, 10, 1};
    auto c = make_regularization_net(config);
    const std::string msg = message_of<IoError>([&] { load_parameters(*c, temp("model.npz")); });
    BOOST_TEST(contains(msg, "model.npz"));
    BOOST_TEST(contains(msg, "W1"));
    BOOST_TEST(contains(msg, "(20, 2)"));
    save_npz(temp("partial.npz"), {{"W1", Array({20, 2})}});
    BOOST_TEST(contains(message_of<IoError>([&] { load_parameters(*b, temp("partial.npz")); }), "'b1' is missing"));
}

BOOST_AUTO_TEST_SUITE_END()
