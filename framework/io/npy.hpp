#pragma once
// numpy's file formats: .npy (one array) and .npz (a zip of named .npy members), read and written
// so that numpy.load reads what xgrad saves and xgrad loads what numpy.save / savez /
// savez_compressed wrote. float32 and float64, little- or big-endian, C or Fortran order (Fortran
// order is converted to xgrad's row-major layout on load).

#include <map>
#include <string>

#include "framework/array.hpp"

namespace xgrad {

void save_npy(const std::string& path, const Array& array);
Array load_npy(const std::string& path);

/// Members are written as "<name>.npy" in name order; numpy.load(path)["W1"] gives the array.
/// Each name must pass valid_npz_name (ValueError otherwise).
void save_npz(const std::string& path, const std::map<std::string, Array>& arrays);
/// Whether `name` can name an array in an .npz: not empty, and no '/' or NUL (a member "a/b.npy"
/// would be a folder to an unzip, "../x" a path outside it).
bool valid_npz_name(const std::string& name);
std::map<std::string, Array> load_npz(const std::string& path);

/// The bytes of a .npy file, and its parse (used by the .npz members and by the fuzz targets).
std::string npy_bytes(const Array& array);
Array parse_npy(const std::string& bytes, const std::string& where);
std::map<std::string, Array> parse_npz(const std::string& bytes, const std::string& where);

}  // namespace xgrad
