// Writes small football-shaped MAT v5 files (compressed and not) as seeds for fuzz_mat, so the seed
// corpus does not copy the course's data. Build: c++ make_mat_seeds.cpp -lmatio; run in fuzz/corpus/mat.
#include <matio.h>

#include <vector>

static void write(const char* path, matio_compression compression) {
    mat_t* mat = Mat_CreateVer(path, nullptr, MAT_FT_MAT5);
    auto put = [&](const char* name, std::size_t rows, std::size_t cols, double base) {
        std::vector<double> v(rows * cols);
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = base + 0.01 * static_cast<double>(i % 7);
        if (cols == 1)
            for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 2);
        std::size_t dims[2] = {rows, cols};
        matvar_t* var = Mat_VarCreate(name, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, v.data(), 0);
        Mat_VarWrite(mat, var, compression);
        Mat_VarFree(var);
    };
    put("X", 5, 2, -0.3);
    put("y", 5, 1, 0);
    put("Xval", 3, 2, 0.2);
    put("yval", 3, 1, 0);
    Mat_Close(mat);
}

int main() {
    write("small_plain.mat", MAT_COMPRESSION_NONE);
    write("small_zlib.mat", MAT_COMPRESSION_ZLIB);
}
