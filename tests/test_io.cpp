// Files: every write checked (IoError with the path and the reason, never a silent success),
// parameter files replaced atomically (a failed save keeps the previous checkpoint), and clear
// errors for the inputs that used to confuse the loaders (a folder, a MAT v7.3 file, a CSV typo).

#include <matio.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "helpers.hpp"

using namespace xgrad;
using xgrad::test::contains;
using xgrad::test::message_of;

namespace {

/// A fresh folder under the system's temporary folder, removed at the end of the test.
struct TempFolder {
    std::filesystem::path path;
    explicit TempFolder(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("xgrad_io_" + name + "_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempFolder() { std::filesystem::remove_all(path); }
    std::string operator/(const std::string& file) const { return (path / file).string(); }
    std::size_t entries() const {
        return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path), {}));
    }
};

/// Writes past `bytes` fail with EFBIG while this lives (RLIMIT_FSIZE; SIGXFSZ ignored), as on a
/// full disk.
struct FileSizeLimit {
    rlimit previous{};
    void (*previous_handler)(int);
    explicit FileSizeLimit(rlim_t bytes) {
        previous_handler = std::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &previous);
        rlimit limited = previous;
        limited.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &limited);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &previous);
        std::signal(SIGXFSZ, previous_handler);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(io)

BOOST_AUTO_TEST_CASE(saving_to_a_full_device_raises_with_the_path) {
    Linear layer(3, 2);
    std::string msg = message_of<IoError>([&] { save_parameters(layer, "/dev/full"); });
    BOOST_TEST(contains(msg, "/dev/full"), msg);
    BOOST_TEST(contains(msg, "No space left on device"), msg);
    msg = message_of<IoError>([&] { save_npy("/dev/full", Array({2}, {1.0, 2.0})); });
    BOOST_TEST(contains(msg, "/dev/full"), msg);
    BOOST_TEST(std::filesystem::is_character_file("/dev/full"));  // written through, never replaced
}

BOOST_AUTO_TEST_CASE(saving_into_a_missing_folder_raises_with_the_path) {
    const std::string msg = message_of<IoError>([] { save_npy("/nonexistent/folder/a.npy", Array({1}, {1.0})); });
    BOOST_TEST(contains(msg, "/nonexistent/folder/a.npy"), msg);
    BOOST_TEST(contains(msg, "No such file or directory"), msg);
}

BOOST_AUTO_TEST_CASE(a_failed_save_keeps_the_previous_checkpoint) {
    TempFolder folder("atomic");
    const std::string path = folder / "model.npz";
    seed(1);
    Linear small(2, 1);
    save_parameters(small, path);
    const std::string before = read_file(path);
    Linear large(200, 100);  // 160 kB of weights: the write fails part-way
    {
        FileSizeLimit limit(4096);
        const std::string msg = message_of<IoError>([&] { save_parameters(large, path); });
        BOOST_TEST(contains(msg, path), msg);
        BOOST_TEST(contains(msg, "File too large"), msg);
    }
    BOOST_TEST(read_file(path) == before);  // the old checkpoint, byte for byte
    BOOST_TEST(folder.entries() == 1u);     // and no temporary file left beside it
    Linear restored(2, 1);
    load_parameters(restored, path);
    BOOST_TEST(restored.weight.value().equals(small.weight.value()));
}

BOOST_AUTO_TEST_CASE(a_save_keeps_the_files_permissions_and_links) {
    TempFolder folder("perm");
    const std::string path = folder / "private.npy";
    save_npy(path, Array({1}, {1.0}));
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    save_npy(path, Array({1}, {2.0}));
    const bool private_still = (std::filesystem::status(path).permissions() & std::filesystem::perms::all) ==
                               (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    BOOST_TEST(private_still);
    const std::string link = folder / "latest.npy";
    std::filesystem::create_symlink(path, link);
    save_npy(link, Array({1}, {3.0}));
    BOOST_TEST(std::filesystem::is_symlink(link));  // still a link...
    BOOST_TEST(load_npy(path).item() == 3.0);       // ...to the file that was replaced
}

BOOST_AUTO_TEST_CASE(csv_accepts_subnormal_numbers) {
    const LabeledData d = parse_csv("1e-310,2,0\n3,4,1\n", "t.csv");
    BOOST_TEST(d.X.flat(0) == 1e-310);
}

BOOST_AUTO_TEST_CASE(a_successful_save_replaces_the_file) {
    TempFolder folder("replace");
    const std::string path = folder / "a.npy";
    save_npy(path, Array({1}, {1.0}));
    save_npy(path, Array({2}, {3.0, 4.0}));
    BOOST_TEST(load_npy(path).equals(Array({2}, {3.0, 4.0})));
    BOOST_TEST(folder.entries() == 1u);
}

BOOST_AUTO_TEST_CASE(output_paths_are_checked_before_the_work) {
    TempFolder folder("check");
    ensure_writable_file(folder / "a.json");  // the folder exists: fine
    std::string msg = message_of<IoError>([&] { ensure_writable_file(folder / "missing/a.json"); });
    BOOST_TEST(contains(msg, "does not exist"), msg);
    BOOST_TEST(!std::filesystem::exists(folder.path / "missing"));  // a file's folder is never created
    msg = message_of<IoError>([&] { ensure_writable_file(folder.path.string()); });
    BOOST_TEST(contains(msg, "is a directory"), msg);
    ensure_writable_folder(folder / "out/sub");  // an output folder is created
    BOOST_TEST(std::filesystem::is_directory(folder.path / "out" / "sub"));
    ensure_writable_file("/dev/null");
}

BOOST_AUTO_TEST_CASE(a_folder_given_as_a_data_file_is_named) {
    TempFolder folder("dir");
    for (auto load : {+[](const std::string& p) { load_football(p); }, +[](const std::string& p) { load_csv(p); },
                      +[](const std::string& p) { load_npz(p); }}) {
        const std::string msg = message_of<IoError>([&] { load(folder.path.string()); });
        BOOST_TEST(contains(msg, folder.path.string()), msg);
        BOOST_TEST(contains(msg, "is a directory"), msg);
    }
}

BOOST_AUTO_TEST_CASE(a_mat_v73_file_is_read_through_libmatio) {
    TempFolder folder("mat73");
    const std::string path = folder / "data.mat";
    {
        mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT73);
        BOOST_REQUIRE_MESSAGE(mat, "libmatio cannot write MAT v7.3 here");
        auto put = [&](const char* name, std::size_t rows, std::size_t cols, std::vector<double> values) {
            std::size_t dims[2] = {rows, cols};
            matvar_t* var = Mat_VarCreate(name, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, values.data(), 0);
            Mat_VarWrite(mat, var, MAT_COMPRESSION_NONE);
            Mat_VarFree(var);
        };
        // MATLAB is column-major: X is (m, 2) with the first column first.
        put("X", 3, 2, {0.1, 0.2, 0.3, -1.0, -2.0, -3.0});
        put("y", 3, 1, {0, 1, 1});
        put("Xval", 2, 2, {0.5, 0.6, 1.5, 1.6});
        put("yval", 2, 1, {1, 0});
        Mat_Close(mat);
    }
    BOOST_REQUIRE(read_file(path).rfind("MATLAB 7.3 MAT-file", 0) == 0);
    const Dataset d = load_football(path);
    BOOST_TEST(d.train.X.equals(Array({2, 3}, {0.1, 0.2, 0.3, -1.0, -2.0, -3.0})));
    BOOST_TEST(d.test.Y.equals(Array({1, 2}, {1, 0})));
}

BOOST_AUTO_TEST_CASE(a_csv_typo_in_the_first_row_is_an_error_not_a_header) {
    std::string msg = message_of<IoError>([] { parse_csv("1,2x,0\n3,4,1\n", "t.csv"); });
    BOOST_TEST(contains(msg, "t.csv:1: column 2: '2x'"), msg);
    msg = message_of<IoError>([] { parse_csv("x1,x2,y\n1,2,0\n3,four,1\n", "t.csv"); });
    BOOST_TEST(contains(msg, "t.csv:3: column 2: 'four'"), msg);
    const LabeledData d = parse_csv("x1,x2,y\n1,2,0\n3,4,1\n", "t.csv");  // a real header
    BOOST_TEST((d.X.shape() == Shape{2, 2}));
}

BOOST_AUTO_TEST_CASE(run_program_passes_arguments_verbatim_without_a_shell) {
    TempFolder folder("spawn");
    const std::string hostile = folder / "a'b; touch PWNED $HOME \"q\"";
    const ProgramResult r = run_program({"sh", "-c", "cat > \"$1\"", "sh", hostile}, "payload");
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(read_file(hostile) == "payload");
    BOOST_TEST(!std::filesystem::exists(folder.path / "PWNED"));
    BOOST_CHECK_THROW(run_program({"xgrad-no-such-program"}), IoError);
    BOOST_TEST(run_program({"sh", "-c", "echo oops >&2; exit 3"}).exit_code == 3);
    BOOST_TEST(run_program({"sh", "-c", "echo oops >&2; exit 3"}).std_err == "oops\n");
}

BOOST_AUTO_TEST_SUITE_END()
