#pragma once
// Reads the files of ../shared/reference/: lines "name: v1 v2 ...".

#include <fstream>
#include <map>
#include <sstream>

#include "helpers.hpp"

namespace xgrad::test {

using ReferenceTable = std::map<std::string, std::vector<std::string>>;

inline ReferenceTable read_reference(const std::string& file) {
        std::map<std::string, std::vector<std::string>> t;
        const std::string path = shared_dir() + "/reference/" + file;
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
}

inline std::vector<double> lookup(const ReferenceTable& t, const std::string& name) {
    const auto it = t.find(name);
    BOOST_REQUIRE_MESSAGE(it != t.end(), "no reference line " << name);
    std::vector<double> v;
    for (const std::string& s : it->second) v.push_back(std::stod(s));
    return v;
}

/// A line of numpy_rng_vectors.txt.
inline std::vector<double> reference_doubles(const std::string& name) {
    static const ReferenceTable table = read_reference("numpy_rng_vectors.txt");
    return lookup(table, name);
}

/// A line of planar_flower.txt.
inline std::vector<double> flower_reference(const std::string& name) {
    static const ReferenceTable table = read_reference("planar_flower.txt");
    return lookup(table, name);
}

}  // namespace xgrad::test
