// The reliability probes of issue #14, re-run against the installed package as a user's program
// would: each must now give a clear error of the right type, or the right answer. Prints one line a
// probe and exits non-zero if any probe misbehaves.
#include <xgrad/xgrad.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace xgrad;

namespace {
int failures = 0;

template <class E>
void expect_error(const std::string& probe, const std::function<void()>& f, const std::string& must_mention) {
    try {
        f();
    } catch (const E& e) {
        const std::string what = e.what();
        const bool named = what.find(must_mention) != std::string::npos;
        std::cout << (named ? "ok    " : "FAIL  ") << probe << ": " << what << "\n";
        failures += !named;
        return;
    } catch (const std::exception& e) {
        std::cout << "FAIL  " << probe << ": wrong exception type: " << e.what() << "\n";
        ++failures;
        return;
    }
    std::cout << "FAIL  " << probe << ": no error\n";
    ++failures;
}

void expect(const std::string& probe, bool good, const std::string& detail) {
    std::cout << (good ? "ok    " : "FAIL  ") << probe << ": " << detail << "\n";
    failures += !good;
}
}  // namespace

int main() {
    const auto tmp = std::filesystem::temp_directory_path() / ("xgrad_probes_" + std::to_string(::getpid()));
    std::filesystem::create_directories(tmp);

    {  // 1. threads that end and start
        std::vector<Tensor> keep;
        for (int m = 1; m < 400; ++m) {
            std::thread a([&] { for (int i = 0; i < m; ++i) keep.push_back(constant(Array::scalar(1))); });
            a.join();
            std::thread b([&] { for (int i = 0; i < 3; ++i) keep.push_back(constant(Array::scalar(1))); });
            b.join();
        }
        expect("1 threads end and start", keep.size() == 80997, std::to_string(keep.size()) + " nodes intact");
    }
    {  // 2. in-place edit between forward and backward
        Tensor w = parameter(Array({1}, {2.0}), "w");
        Tensor y = sum(w * w);
        w.mutable_value().set_flat(0, 5);
        expect_error<GraphError>("2 in-place edit", [&] { y.backward(); }, "modified in place");
    }
    // 3. failed writes
    {
        Linear model(3, 2);
        expect_error<IoError>("3 save_parameters /dev/full", [&] { save_parameters(model, "/dev/full"); }, "/dev/full");
        expect_error<IoError>("3 save_npy /dev/full", [&] { save_npy("/dev/full", Array({1}, {1.0})); }, "/dev/full");
        const std::string file = (tmp / "file").string();
        std::ofstream(file) << "x";
        expect_error<IoError>("3 save under a file", [&] { save_parameters(model, file + "/model.npz"); }, file);
    }
    {  // 4. no shell: a hostile path reaches the program verbatim
        const std::string hostile = (tmp / "x';touch PWNED;'").string();
        const ProgramResult r = run_program({"sh", "-c", ": > \"$1\"", "sh", hostile});
        expect("4 no shell", r.exit_code == 0 && std::filesystem::exists(hostile) && !std::filesystem::exists("PWNED"),
               "argument passed verbatim");
    }
    // 5. shape arithmetic
    expect_error<ShapeError>("5 reshape overflow",
                             [] { reshape(parameter(Array({0})), {std::size_t{1} << 32, std::size_t{1} << 32}); },
                             "overflows");
    expect_error<ShapeError>("5 matmul past BLAS",
                             [] { matmul(constant(Array({0, std::size_t{3} << 30})), constant(Array({std::size_t{3} << 30, 0}))); },
                             "BLAS");
    // 6. inputs
    expect_error<IoError>("6 folder as data file", [&] { load_football(tmp.string()); }, "is a directory");
    expect_error<IoError>("6 CSV typo in row 1", [] { parse_csv("1,2x,0\n3,4,1\n", "t.csv"); }, "t.csv:1: column 2");
    {  // 7. threads: one shared parameter
        Tensor w = parameter(Array({1}, {1.0}), "w");
        auto work = [&] { for (int i = 0; i < 3000; ++i) sum(w * 2.0).backward(); };
        std::thread a(work), b(work);
        a.join();
        b.join();
        expect("7 shared parameter", w.grad().item() == 12000.0, std::to_string(w.grad().item()) + " of 12000");
    }
    // 8. small ones
    expect_error<ShapeError>("8 grad().flat(0) without a gradient", [] { parameter(Array({1}, {1.0})).grad().flat(0); },
                             "undefined");
    expect_error<ValueError>("8 BCE p = 1.5",
                             [] { binary_cross_entropy(constant(Array({1}, {1.5})), constant(Array({1}, {1.0}))); },
                             "binary_cross_entropy");
    std::filesystem::remove_all(tmp);
    std::cout << (failures ? "probes: " + std::to_string(failures) + " failed\n" : "probes: all behave\n");
    return failures ? 1 : 0;
}
