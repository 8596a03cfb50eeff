// The data pipeline: IDX files (plain and gzipped, every malformed input an IoError naming the file),
// datasets and the DataLoader (batch shapes, partial and dropped last batches, reproducible
// per-epoch shuffles, transforms), and Fashion-MNIST from Debian's dataset-fashion-mnist.

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::data::Batch;
using xgrad::data::DataLoader;
using xgrad::data::Example;
using xgrad::data::TensorDataset;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {

/// An IDX file: magic, element type, big-endian u32 sizes, then `payload` as given.
std::string idx(unsigned char type, const std::vector<std::uint32_t>& sizes, const std::string& payload) {
    std::string b{'\0', '\0', static_cast<char>(type), static_cast<char>(sizes.size())};
    for (std::uint32_t d : sizes)
        for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>((d >> shift) & 0xff);
    return b + payload;
}

std::string bytes(std::initializer_list<int> values) {
    std::string b;
    for (int v : values) b += static_cast<char>(v);
    return b;
}

/// `plain` as a gzip file (zlib's deflate with the gzip wrapper).
std::string gzip(const std::string& plain) {
    z_stream z{};
    BOOST_REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, plain.size()) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    z.avail_in = static_cast<uInt>(plain.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    BOOST_REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

/// parse_idx's IoError message for `b`, required to name the source.
std::string idx_error(const std::string& b) {
    const std::string msg = message_of<IoError>([&] { parse_idx(b, "bad.idx"); });
    BOOST_TEST(contains(msg, "bad.idx"), msg);
    return msg;
}

/// Examples whose input is {i, 10·i} and whose target is i (int64): a batch says which it holds.
TensorDataset numbered(std::size_t n) {
    Array inputs({n, 2}), targets({n}, DType::i64);
    for (std::size_t i = 0; i < n; ++i) {
        inputs.set_flat(2 * i, static_cast<double>(i));
        inputs.set_flat(2 * i + 1, 10.0 * static_cast<double>(i));
        targets.set_flat(i, static_cast<double>(i));
    }
    return TensorDataset(inputs, targets);
}

std::vector<std::size_t> ids(const Batch& batch) {
    std::vector<std::size_t> out;
    for (std::size_t k = 0; k < batch.targets.value().size(); ++k)
        out.push_back(static_cast<std::size_t>(batch.targets.value().flat(k)));
    return out;
}

/// Every example id a pass over `loader` serves, in order.
std::vector<std::size_t> pass(DataLoader& loader) {
    std::vector<std::size_t> out;
    for (const Batch& batch : loader) {
        const std::vector<std::size_t> b = ids(batch);
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}

/// A dataset without a batch path of its own (Dataset::get_batch's default), whose example 3 is
/// shaped differently when `ragged`.
struct Squares : xgrad::data::Dataset {
    bool ragged = false;
    std::size_t size() const override { return 5; }
    Example get(std::size_t i) const override {
        const double v = static_cast<double>(i);
        if (ragged && i == 3) return {Array({3}, {v, v, v}), Array::scalar(v * v)};
        return {Array({2}, {v, -v}), Array::scalar(v * v)};
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(data)

// ---- IDX ----

BOOST_AUTO_TEST_CASE(idx_ubyte_images_load_as_exact_float32) {
    const Array a =
        parse_idx(idx(0x08, {2, 2, 3}, bytes({0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255})), "x.idx");
    BOOST_TEST((a.dtype() == DType::f32));
    BOOST_TEST(a.shape() == (Shape{2, 2, 3}));
    xgrad::test::check_close(a, {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255}, 0.0);
}

BOOST_AUTO_TEST_CASE(idx_label_vectors_load_as_int64_with_big_endian_sizes) {
    // 258 labels: the size 0x00000102 reads big-endian (little-endian would be 33 619 968).
    std::string payload;
    for (int i = 0; i < 258; ++i) payload += static_cast<char>(i % 10);
    const Array a = parse_idx(idx(0x08, {258}, payload), "labels.idx");
    BOOST_TEST((a.dtype() == DType::i64));
    BOOST_TEST(a.shape() == (Shape{258}));
    BOOST_TEST(a.flat(0) == 0);
    BOOST_TEST(a.flat(257) == 7);
}

BOOST_AUTO_TEST_CASE(idx_every_element_type_reads_big_endian) {
    // int8: signed bytes.
    Array a = parse_idx(idx(0x09, {3}, bytes({0xff, 0x80, 0x7f})), "i8.idx");
    BOOST_TEST((a.dtype() == DType::i64));
    xgrad::test::check_close(a, {-1, -128, 127}, 0.0);
    a = parse_idx(idx(0x09, {1, 2}, bytes({0xfe, 0x05})), "i8.idx");
    BOOST_TEST((a.dtype() == DType::f32));
    xgrad::test::check_close(a, {-2, 5}, 0.0);
    // int16: 0x012c = 300, 0xfffe = -2.
    a = parse_idx(idx(0x0B, {2, 1}, bytes({0x01, 0x2c, 0xff, 0xfe})), "i16.idx");
    BOOST_TEST((a.dtype() == DType::f32));
    xgrad::test::check_close(a, {300, -2}, 0.0);
    // int32: 0xfffeee90 = -70 000; 0x01000001 = 16 777 217, which float32 would round.
    a = parse_idx(idx(0x0C, {1, 2}, bytes({0xff, 0xfe, 0xee, 0x90, 0x01, 0x00, 0x00, 0x01})), "i32.idx");
    BOOST_TEST((a.dtype() == DType::f64));
    xgrad::test::check_close(a, {-70000, 16777217}, 0.0);
    a = parse_idx(idx(0x0C, {1}, bytes({0x7f, 0xff, 0xff, 0xff})), "i32.idx");
    BOOST_TEST((a.dtype() == DType::i64));
    BOOST_TEST(a.flat(0) == 2147483647);
    // float32 1.5 = 0x3fc00000, -2 = 0xc0000000; float64 0.1 = 0x3fb999999999999a.
    a = parse_idx(idx(0x0D, {2}, bytes({0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0})), "f32.idx");
    BOOST_TEST((a.dtype() == DType::f32));
    xgrad::test::check_close(a, {1.5, -2}, 0.0);
    a = parse_idx(idx(0x0E, {1, 1, 1, 1}, bytes({0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a})),
                  "f64.idx");
    BOOST_TEST((a.dtype() == DType::f64));
    BOOST_TEST(a.shape() == (Shape{1, 1, 1, 1}));
    BOOST_TEST(a.flat(0) == 0.1);
    // An empty array is a valid file.
    a = parse_idx(idx(0x08, {0, 28, 28}, ""), "empty.idx");
    BOOST_TEST(a.shape() == (Shape{0, 28, 28}));
}

BOOST_AUTO_TEST_CASE(idx_gzip_is_recognised_by_its_magic_not_its_name) {
    const std::string plain = idx(0x08, {2, 3}, bytes({9, 8, 7, 6, 5, 4}));
    const Array a = parse_idx(gzip(plain), "no-gz-suffix.idx");
    BOOST_TEST(a.equals(parse_idx(plain, "plain.idx")));
    xgrad::test::check_close(a, {9, 8, 7, 6, 5, 4}, 0.0);

    const std::string path = (std::filesystem::temp_directory_path() / "xgrad_data_labels.gz").string();
    write_file_atomic(path, gzip(idx(0x08, {3}, bytes({3, 1, 4}))));
    const Array labels = load_idx(path);
    std::filesystem::remove(path);
    BOOST_TEST((labels.dtype() == DType::i64));
    xgrad::test::check_close(labels, {3, 1, 4}, 0.0);
}

BOOST_AUTO_TEST_CASE(idx_malformed_files_are_io_errors_naming_the_file) {
    const std::string good = idx(0x08, {2, 2}, bytes({1, 2, 3, 4}));
    BOOST_TEST(contains(idx_error(""), "truncated IDX header"));
    BOOST_TEST(contains(idx_error(bytes({0, 0, 8})), "truncated IDX header"));
    BOOST_TEST(contains(idx_error("P5\n28 28\n255\n"), "not an IDX file"));
    BOOST_TEST(contains(idx_error(idx(0x0A, {2}, "ab")), "unknown IDX element type 0x0a"));
    BOOST_TEST(contains(idx_error(idx(0x08, {}, "")), "declares 0 dimensions"));
    BOOST_TEST(contains(idx_error(idx(0x08, {1, 1, 1, 1, 1}, "x")), "declares 5 dimensions"));
    BOOST_TEST(contains(idx_error(good.substr(0, 10)), "truncated IDX header"));
    std::string msg = idx_error(good.substr(0, good.size() - 1));
    BOOST_TEST(contains(msg, "shape (2, 2) of uint8 needs 4 bytes of data, the file has 3 (truncated)"), msg);
    msg = idx_error(good + "z");
    BOOST_TEST(contains(msg, "the file has 5 (trailing bytes)"), msg);
    // A header may claim anything: nothing is allocated before the data is there.
    msg = idx_error(idx(0x08, {60000, 1024, 1024}, "tiny"));
    BOOST_TEST(contains(msg, "needs 62914560000 bytes of data, the file has 4 (truncated)"), msg);
    msg = idx_error(idx(0x0E, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, ""));
    BOOST_TEST(contains(msg, "more than 2^40 bytes"), msg);
    // Found by fuzz_idx: sizes whose product wraps around 2^64 to 0 once looked like an empty array.
    msg = idx_error(idx(0x08, {64, 8, 67108864, 1073741824}, ""));
    BOOST_TEST(contains(msg, "more than 2^40 bytes"), msg);
    // An empty array whose other sizes multiply past 2^40 is refused as well.
    msg = idx_error(idx(0x08, {0, 0xffffffff, 0xffffffff}, ""));
    BOOST_TEST(contains(msg, "more than 2^40 bytes"), msg);

    msg = message_of<IoError>([] { load_idx("/nonexistent/train-images-idx3-ubyte"); });
    BOOST_TEST(contains(msg, "/nonexistent/train-images-idx3-ubyte"), msg);
}

BOOST_AUTO_TEST_CASE(idx_gzip_errors_and_decompression_bombs) {
    const std::string packed = gzip(idx(0x08, {4}, bytes({1, 2, 3, 4})));
    // Truncated stream, a flipped bit (CRC or data error), bytes after the stream.
    std::string msg = idx_error(packed.substr(0, packed.size() - 6));
    BOOST_TEST(contains(msg, "gzip stream is truncated"), msg);
    std::string flipped = packed;
    flipped[flipped.size() - 6] ^= 0x40;  // inside the CRC-32
    msg = idx_error(flipped);
    BOOST_TEST(contains(msg, "corrupt gzip stream"), msg);
    BOOST_TEST(contains(idx_error(packed.substr(0, 2)), "truncated"));
    msg = idx_error(packed + "junk");
    BOOST_TEST(contains(msg, "4 bytes after the end of the gzip stream"), msg);
    // Inflating to more than the header declares stops there: a 1-byte array followed by 16 MiB
    // of zeros (a 16 kB file) is refused after the first chunk, not inflated in full.
    msg = idx_error(gzip(idx(0x08, {1}, std::string(16 << 20, '\0'))));
    BOOST_TEST(contains(msg, "inflates to more than the 9 bytes its IDX header declares"), msg);
    // A header claiming more than a gzipped file may inflate to, or than its stream can hold.
    msg = idx_error(gzip(idx(0x08, {3, 1024, 1024, 1024}, "")));
    BOOST_TEST(contains(msg, "more than the 2 GiB"), msg);
    const std::string claim = gzip(idx(0x08, {1000, 1000}, ""));
    msg = idx_error(claim);
    BOOST_TEST(
        contains(msg, "(1000012 bytes), more than a " + std::to_string(claim.size()) + "-byte gzip stream"),
        msg);
    // What is inside the stream is checked like a plain file.
    msg = idx_error(gzip("hello, world"));
    BOOST_TEST(contains(msg, "not an IDX file"), msg);
    msg = idx_error(gzip(idx(0x08, {2, 2}, "abc")));
    BOOST_TEST(contains(msg, "(truncated)"), msg);
}

// ---- datasets and loaders ----

BOOST_AUTO_TEST_CASE(tensor_dataset_serves_rows) {
    const TensorDataset ds = numbered(5);
    BOOST_TEST(ds.size() == 5u);
    const Example e = ds.get(3);
    BOOST_TEST(e.input.shape() == (Shape{2}));
    xgrad::test::check_close(e.input, {3, 30}, 0.0);
    BOOST_TEST(e.target.shape() == Shape{});
    BOOST_TEST((e.target.dtype() == DType::i64));
    BOOST_TEST(e.target.item() == 3);
    const std::size_t rows[] = {4, 0, 4};
    const Example b = ds.get_batch(rows);
    xgrad::test::check_close(b.input, {4, 40, 0, 0, 4, 40}, 0.0);
    xgrad::test::check_close(b.target, {4, 0, 4}, 0.0);

    std::string msg = message_of<IndexError>([&] { ds.get(5); });
    BOOST_TEST(contains(msg, "index 5 is out of range for 5 examples"), msg);
    msg = message_of<ShapeError>([] { TensorDataset(Array({3, 2}), Array({4}, DType::i64)); });
    BOOST_TEST(contains(msg, "(3, 2)"), msg);
    BOOST_TEST(contains(msg, "(4,)"), msg);
    message_of<ShapeError>([] { TensorDataset(Array::scalar(1), Array::scalar(1)); });
}

BOOST_AUTO_TEST_CASE(loader_batches_are_batch_first_with_a_partial_last_batch) {
    const TensorDataset ds = numbered(10);
    DataLoader loader(ds, {.batch_size = 4});
    BOOST_TEST(loader.size() == 3u);
    std::vector<std::vector<std::size_t>> seen;
    for (const Batch& batch : loader) {
        BOOST_TEST((batch.inputs.value().dtype() == DType::f64));
        BOOST_TEST((batch.targets.value().dtype() == DType::i64));
        BOOST_TEST(batch.inputs.value().shape()[1] == 2u);
        BOOST_TEST(batch.inputs.value().shape()[0] == batch.targets.value().shape()[0]);
        BOOST_TEST(!batch.inputs.requires_grad());
        seen.push_back(ids(batch));
    }
    BOOST_TEST((seen == std::vector<std::vector<std::size_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
    xgrad::test::check_close(loader.batch(2, 0).inputs.value(), {8, 80, 9, 90}, 0.0);

    DataLoader dropping(ds, {.batch_size = 4, .drop_last = true});
    BOOST_TEST(dropping.size() == 2u);
    BOOST_TEST(pass(dropping) == (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7}));
    DataLoader exact(ds, {.batch_size = 5, .drop_last = true});
    BOOST_TEST(exact.size() == 2u);
    DataLoader one(ds, {.batch_size = 64});
    BOOST_TEST(one.size() == 1u);
    BOOST_TEST(DataLoader(ds, {.batch_size = 64, .drop_last = true}).size() == 0u);
    DataLoader none(ds, {.batch_size = 64, .drop_last = true});
    BOOST_TEST(pass(none).empty());

    BOOST_TEST(
        contains(message_of<ValueError>([&] { DataLoader(ds, {.batch_size = 0}); }), "batch_size = 0"));
    message_of<ValueError>([&] { DataLoader(ds, {.seed = std::uint64_t{1} << 32}); });
    BOOST_TEST(
        contains(message_of<IndexError>([&] { loader.batch(3, 0); }), "batch 3 is out of range for 3"));
}

BOOST_AUTO_TEST_CASE(shuffles_are_reproducible_new_each_epoch_and_serve_each_example_once) {
    const TensorDataset ds = numbered(10);
    DataLoader a(ds, {.batch_size = 3, .shuffle = true, .seed = 7});
    DataLoader b(ds, {.batch_size = 3, .shuffle = true, .seed = 7});
    std::set<std::vector<std::size_t>> orders;
    for (std::size_t e = 0; e < 4; ++e) {
        BOOST_TEST(a.epoch() == e);
        const std::vector<std::size_t> served = pass(a);
        BOOST_TEST(served == pass(b));  // same seed, same epoch: same order
        BOOST_TEST(served == a.order(e));
        std::vector<std::size_t> sorted = served;
        std::sort(sorted.begin(), sorted.end());
        BOOST_TEST(sorted == (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));  // each exactly once
        orders.insert(served);
    }
    BOOST_TEST(orders.size() == 4u);  // a new order every epoch
    // set_epoch replays an epoch (resuming a run).
    a.set_epoch(2);
    BOOST_TEST(pass(a) == a.order(2));
    BOOST_TEST(a.epoch() == 3u);
    // The order numpy draws: numpy.random.RandomState(epoch_seed(seed, e)).permutation(10).
    BOOST_TEST(DataLoader::epoch_seed(7, 3) == 4247925832u);
    BOOST_TEST(a.order(3) == (std::vector<std::size_t>{9, 1, 6, 4, 0, 2, 5, 8, 7, 3}));
    BOOST_TEST(DataLoader::epoch_seed(0, 1) == 2433363436u);
    BOOST_TEST(DataLoader::epoch_seed(1, 0) == 3291240986u);  // not seed 0's epoch 1
    DataLoader other(ds, {.batch_size = 3, .shuffle = true, .seed = 8});
    BOOST_TEST((other.order(0) != a.order(0)));
    // Without shuffle every epoch is 0..N-1.
    DataLoader plain(ds, {.batch_size = 3});
    BOOST_TEST(pass(plain) == pass(plain));
    BOOST_TEST(plain.order(5) == (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

BOOST_AUTO_TEST_CASE(transforms_apply_to_each_input) {
    Array images({3, 1, 2, 2}, DType::f32);
    for (std::size_t i = 0; i < images.size(); ++i) images.set_flat(i, static_cast<double>(i));
    const TensorDataset ds(images, Array({3}, {0, 1, 2}, DType::i64));
    DataLoader flat(ds, {.batch_size = 2, .transform = xgrad::data::flatten_input()});
    const Batch first = *flat.begin();
    BOOST_TEST(first.inputs.value().shape() == (Shape{2, 4}));
    BOOST_TEST((first.inputs.value().dtype() == DType::f32));
    BOOST_TEST(first.targets.value().shape() == (Shape{2}));
    xgrad::test::check_close(first.inputs.value(), {0, 1, 2, 3, 4, 5, 6, 7}, 0.0);

    const auto normalize = xgrad::data::normalize(2.0, 4.0);
    DataLoader normalized(ds, {.batch_size = 3, .transform = normalize});
    const Batch all = normalized.batch(0, 0);
    BOOST_TEST(all.inputs.value().shape() == (Shape{3, 1, 2, 2}));
    BOOST_TEST(all.inputs.value().flat(0) == -0.5);
    BOOST_TEST(all.inputs.value().flat(11) == 2.25);
    BOOST_TEST(ds.inputs().flat(11) == 11);  // the dataset itself is untouched

    message_of<ValueError>([] { xgrad::data::normalize(0.0, 0.0); });
    BOOST_TEST(contains(message_of<DTypeError>([&] { normalize(Array({2}, DType::i64)); }), "int64"));
    // A transform whose outputs differ in shape cannot be stacked: the error names both examples.
    DataLoader ragged(ds, {.batch_size = 3, .transform = [](Array x) {
                               return x.flat(0) == 4 ? std::move(x).reshaped({4}) : x;
                           }});
    const std::string msg = message_of<ShapeError>([&] { ragged.batch(0, 0); });
    BOOST_TEST(contains(msg, "example 1 is (4,) float32, example 0 is (1, 2, 2) float32"), msg);
}

BOOST_AUTO_TEST_CASE(any_dataset_is_batched_through_get) {
    Squares squares;
    DataLoader loader(squares, {.batch_size = 2});
    BOOST_TEST(loader.size() == 3u);
    const Batch b = loader.batch(1, 0);
    xgrad::test::check_close(b.inputs.value(), {2, -2, 3, -3}, 0.0);
    xgrad::test::check_close(b.targets.value(), {4, 9}, 0.0);
    BOOST_TEST(loader.batch(2, 0).inputs.value().shape() == (Shape{1, 2}));
    squares.ragged = true;
    const std::string msg = message_of<ShapeError>([&] { loader.batch(1, 0); });
    BOOST_TEST(contains(msg, "example 3 is (3,) float64"), msg);
}

// ---- Fashion-MNIST ----

BOOST_AUTO_TEST_CASE(distributed_sampler_shards_are_disjoint_and_together_the_global_batches) {
    using xgrad::data::DistributedSampler;
    const TensorDataset ds = numbered(10);
    DataLoader single(ds, {.batch_size = 4, .shuffle = true, .seed = 5});
    for (std::size_t e = 0; e < 3; ++e) {
        const std::vector<std::size_t> global = single.order(e);
        // Two processes, batch 2 each: batch b of both together is batch b of one process with 4.
        std::vector<std::vector<std::size_t>> shards;
        for (std::size_t r = 0; r < 2; ++r) {
            auto sampler = std::make_shared<DistributedSampler>(10, 2, r, xgrad::data::DistributedSamplerOptions{.seed = 5});
            BOOST_TEST(sampler->size() == 5u);
            DataLoader loader(ds, {.batch_size = 2, .sampler = sampler});
            BOOST_TEST(loader.size() == 3u);
            loader.set_epoch(e);
            shards.push_back(pass(loader));
            BOOST_TEST(shards.back() == sampler->indices(e));
        }
        for (std::size_t b = 0; b < 2; ++b) {
            std::set<std::size_t> together{shards[0][2 * b], shards[0][2 * b + 1], shards[1][2 * b], shards[1][2 * b + 1]};
            BOOST_TEST(together == std::set<std::size_t>(global.begin() + 4 * b, global.begin() + 4 * b + 4));
        }
        std::set<std::size_t> all(shards[0].begin(), shards[0].end());
        all.insert(shards[1].begin(), shards[1].end());
        BOOST_TEST(all.size() == 10u);  // disjoint (5 + 5) and every example served
    }
    // One process: the loader's own shuffle, epoch by epoch.
    DistributedSampler one(10, 1, 0, {.seed = 5});
    BOOST_TEST(one.indices(1) == single.order(1));
    // 10 over 3: padded with the epoch's first examples to 4 each, or cut to 3 each with drop_last.
    DistributedSampler padded(10, 3, 2, {.shuffle = false});
    BOOST_TEST(padded.indices(0) == (std::vector<std::size_t>{2, 5, 8, 1}));
    DistributedSampler cut(10, 3, 2, {.shuffle = false, .drop_last = true});
    BOOST_TEST(cut.indices(0) == (std::vector<std::size_t>{2, 5, 8}));
    // A new order each epoch, the same on every process.
    BOOST_TEST((DistributedSampler(10, 2, 0, {.seed = 5}).indices(0) != DistributedSampler(10, 2, 0, {.seed = 5}).indices(1)));

    BOOST_TEST(contains(message_of<ValueError>([] { DistributedSampler(10, 2, 2); }), "rank = 2 with world_size = 2"));
    BOOST_TEST(contains(message_of<ValueError>([] { DistributedSampler(10, 0, 0); }), "world_size = 0"));
    const auto sampler = std::make_shared<DistributedSampler>(9, 2, 0);
    BOOST_TEST(contains(message_of<ValueError>([&] { DataLoader(ds, {.sampler = sampler}); }),
                        "made for 9 examples, the dataset has 10"));
    const auto ten = std::make_shared<DistributedSampler>(10, 2, 0);
    BOOST_TEST(contains(message_of<ValueError>([&] { DataLoader(ds, {.shuffle = true, .sampler = ten}); }),
                        "shuffle = true with a sampler"));
}

BOOST_AUTO_TEST_CASE(fashion_mnist_from_the_debian_package) {
    const auto start = std::chrono::steady_clock::now();
    const xgrad::data::FashionMnist fm = xgrad::data::fashion_mnist();
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE("fashion_mnist(): train + test loaded in " << load_seconds << " s");

    BOOST_TEST(fm.train.size() == 60000u);
    BOOST_TEST(fm.test.size() == 10000u);
    BOOST_TEST(fm.train.inputs().shape() == (Shape{60000, 1, 28, 28}));
    BOOST_TEST(fm.test.inputs().shape() == (Shape{10000, 1, 28, 28}));
    BOOST_TEST((fm.train.inputs().dtype() == DType::f32));
    BOOST_TEST(fm.train.targets().shape() == (Shape{60000}));
    BOOST_TEST((fm.train.targets().dtype() == DType::i64));
    // The first labels and one pixel, as python3's gzip module reads the files.
    const std::vector<double> first{9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    for (std::size_t i = 0; i < first.size(); ++i) BOOST_TEST(fm.train.targets().flat(i) == first[i]);
    BOOST_TEST(fm.test.targets().flat(0) == 9);
    BOOST_TEST(fm.test.targets().flat(9999) == 5);
    BOOST_TEST(fm.train.inputs().at({0, 0, 10, 13}) == static_cast<double>(193.0f / 255.0f));
    const float* p = fm.train.inputs().data<float>();
    const auto [lo, hi] = std::minmax_element(p, p + fm.train.inputs().size());
    BOOST_TEST(*lo == 0.0f);
    BOOST_TEST(*hi == 1.0f);
    BOOST_TEST(xgrad::data::FashionMnist::class_names().size() == 10u);
    BOOST_TEST(xgrad::data::FashionMnist::class_names()[0] == "T-shirt/top");
    BOOST_TEST(xgrad::data::FashionMnist::class_names()[9] == "Ankle boot");

    // A shuffled epoch of 64-image batches: copying rows must cost little next to training.
    const auto epoch_start = std::chrono::steady_clock::now();
    DataLoader loader(fm.train, {.batch_size = 64, .shuffle = true, .seed = 1});
    std::size_t batches = 0, examples = 0;
    for (const Batch& batch : loader) {
        ++batches;
        examples += batch.targets.value().size();
    }
    const double epoch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    BOOST_TEST_MESSAGE("one shuffled epoch of 64-image batches assembled in " << epoch_seconds << " s");
    BOOST_TEST(batches == 938u);
    BOOST_TEST(examples == 60000u);
}

BOOST_AUTO_TEST_CASE(fashion_mnist_missing_says_which_package_to_install) {
    const std::string msg =
        message_of<IoError>([] { xgrad::data::fashion_mnist("/nonexistent/fashion-mnist"); });
    BOOST_TEST(contains(msg, "/nonexistent/fashion-mnist/train-images-idx3-ubyte.gz"), msg);
    BOOST_TEST(contains(msg, "dataset-fashion-mnist"), msg);
    BOOST_TEST(contains(msg, "apt-get install"), msg);
}

BOOST_AUTO_TEST_SUITE_END()
