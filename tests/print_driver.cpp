// print_driver IN.npz: prints every array of a .npz with xgrad, as an array and as a tensor, for
// tests/print_vs_numpy.py to compare with numpy's own printing. A member's name carries its print
// options and dtype: "<case>_<dtype>_p<precision>_t<threshold>_e<edgeitems>_w<linewidth>". npy files
// hold only floats, so an int64 case arrives as float64 integers and is converted here.
//
// Output, per member:  "=== <name>\n<array string>\n=== <name> tensor\n<tensor string>\n".

#include <iostream>
#include <sstream>
#include <string>

#include "xgrad.hpp"

namespace {

xgrad::PrintOptions options_from(const std::string& name, std::string& dtype) {
    xgrad::PrintOptions options;
    std::istringstream fields(name);
    std::string field;
    std::getline(fields, field, '_');  // the case number
    std::getline(fields, dtype, '_');
    while (std::getline(fields, field, '_')) {
        const std::size_t value = std::stoul(field.substr(1));
        switch (field[0]) {
            case 'p': options.precision = static_cast<int>(value); break;
            case 't': options.threshold = value; break;
            case 'e': options.edgeitems = value; break;
            case 'w': options.linewidth = value; break;
            default: throw std::invalid_argument("unknown option '" + field + "' in " + name);
        }
    }
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: print_driver IN.npz\n";
        return 2;
    }
    try {
        for (auto& [name, stored] : xgrad::load_npz(argv[1])) {
            std::string dtype;
            const xgrad::PrintOptions options = options_from(name, dtype);
            const xgrad::Array array = dtype == "i64" ? stored.astype(xgrad::DType::i64) : stored;
            std::cout << "=== " << name << "\n" << xgrad::to_string(array, options) << "\n";
            std::cout << "=== " << name << " tensor\n"
                      << xgrad::to_string(xgrad::constant(array), options) << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "print_driver: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
