// Reader of tests/golden/merger/sim_golden.txt (written by
// tests/merger/make_sim_golden.py): one quantity per line, "name v1 v2 ...".
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace gml::merger::testing {

inline const std::map<std::string, std::vector<double>>& sim_golden() {
  static const std::map<std::string, std::vector<double>> values = [] {
    const std::string path = std::string(GML_GOLDEN_DIR) + "/merger/sim_golden.txt";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("missing " + path + " (run tests/merger/make_sim_golden.py)");
    std::map<std::string, std::vector<double>> out;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string name;
      ls >> name;
      std::vector<double> v;
      double x;
      while (ls >> x) v.push_back(x);
      out[name] = v;
    }
    return out;
  }();
  return values;
}

inline const std::vector<double>& golden(const std::string& name) {
  const auto& g = sim_golden();
  const auto it = g.find(name);
  if (it == g.end()) throw std::runtime_error("golden value '" + name + "' not found");
  return it->second;
}

}  // namespace gml::merger::testing
