#pragma once
// Reads ../shared/reference/numpy_rng_vectors.txt: lines "name: v1 v2 ...".

#include <fstream>
#include <map>
#include <sstream>

#include "helpers.hpp"

namespace xgrad::test {

inline const std::map<std::string, std::vector<std::string>>& numpy_reference() {
    static const auto table = [] {
        std::map<std::string, std::vector<std::string>> t;
        const std::string path = shared_dir() + "/reference/numpy_rng_vectors.txt";
        std::ifstream in(path);
        if (!in) throw std::runtime_error("cannot open " + path);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            const auto colon = line.find(':');
            std::istringstream values(line.substr(colon + 1));
            std::vector<std::string> v;
            for (std::string w; values >> w;) v.push_back(w);
            t[line.substr(0, colon)] = v;
        }
        return t;
    }();
    return table;
}

inline std::vector<double> reference_doubles(const std::string& name) {
    const auto& t = numpy_reference();
    const auto it = t.find(name);
    BOOST_REQUIRE_MESSAGE(it != t.end(), "no reference line " << name);
    std::vector<double> v;
    for (const std::string& s : it->second) v.push_back(std::stod(s));
    return v;
}

}  // namespace xgrad::test
