#include "core/posterior/sed/filters.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "core/common/error.h"

namespace gml::sed {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Splits "| a | b | c |" into {"a", "b", "c"}.
std::vector<std::string> split_bars(const std::string& line) {
  std::vector<std::string> out;
  std::string t = trim(line);
  if (!t.empty() && t.front() == '|') t.erase(0, 1);
  if (!t.empty() && t.back() == '|') t.pop_back();
  std::stringstream ss(t);
  std::string item;
  while (std::getline(ss, item, '|')) out.push_back(trim(item));
  return out;
}

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  std::string b = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = b.find_last_of('.');
  return dot == std::string::npos ? b : b.substr(0, dot);
}

}  // namespace

Filter::Filter(std::string name, std::vector<double> wave, std::vector<double> response)
    : name_(std::move(name)), wave_(std::move(wave)), response_(std::move(response)) {
  const std::string who = "Filter '" + name_ + "': ";
  require(wave_.size() >= 2, who + "needs at least 2 samples, got " + std::to_string(wave_.size()));
  require(wave_.size() == response_.size(), who + "wave has " + std::to_string(wave_.size()) +
                                                " samples but response has " +
                                                std::to_string(response_.size()));
  bool any = false;
  for (size_t k = 0; k < wave_.size(); ++k) {
    require(std::isfinite(wave_[k]) && wave_[k] > 0.0,
            who + "wavelength " + std::to_string(k) + " is not finite and > 0");
    require(k == 0 || wave_[k] > wave_[k - 1],
            who + "wavelengths must increase strictly (sample " + std::to_string(k) + ")");
    require(std::isfinite(response_[k]), who + "response " + std::to_string(k) + " is not finite");
    any = any || response_[k] > 0.0;
  }
  require(any, who + "response is zero everywhere");

  size_t first = 0;
  while (response_[first] == 0.0) ++first;
  size_t last = response_.size() - 1;
  while (response_[last] == 0.0) --last;
  support_min_ = first > 0 ? wave_[first - 1] : wave_.front();
  support_max_ = last + 1 < wave_.size() ? wave_[last + 1] : wave_.back();

  // Exact integrals of the piecewise-linear R against 1/lambda and lambda.
  double inv = 0.0;
  double lin = 0.0;
  for (size_t k = 0; k + 1 < wave_.size(); ++k) {
    const double a = wave_[k];
    const double b = wave_[k + 1];
    const double ra = response_[k];
    const double rb = response_[k + 1];
    const double s = (rb - ra) / (b - a);
    const double c = ra - s * a;  // R(l) = c + s l on [a, b]
    inv += c * std::log(b / a) + s * (b - a);
    lin += c * 0.5 * (b * b - a * a) + s * (b * b * b - a * a * a) / 3.0;
  }
  require(inv > 0.0, who + "int R dlambda/lambda = " + std::to_string(inv) + " is not > 0");
  ab_norm_ = inv;
  pivot_ = std::sqrt(lin / inv);
}

double Filter::response_at(double lambda) const {
  if (!(lambda >= wave_.front() && lambda <= wave_.back())) return 0.0;
  const auto it = std::upper_bound(wave_.begin(), wave_.end(), lambda);
  if (it == wave_.end()) return response_.back();
  const size_t k = static_cast<size_t>(it - wave_.begin()) - 1;
  const double t = (lambda - wave_[k]) / (wave_[k + 1] - wave_[k]);
  return response_[k] + t * (response_[k + 1] - response_[k]);
}

Filter Filter::read_kcorrect(const std::string& path, const std::string& column, std::string name) {
  std::ifstream in(path);
  if (!in) fail(Status::Io, "cannot open filter file '" + path + "'");
  std::vector<std::string> header;
  int col = -1;
  std::vector<double> wave;
  std::vector<double> resp;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto cells = split_bars(t);
    if (header.empty()) {
      header = cells;
      for (size_t k = 0; k < header.size(); ++k) {
        if (header[k] == column) col = static_cast<int>(k);
      }
      if (col < 1) {
        std::string names;
        for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
        fail(Status::Format, "filter file '" + path + "': no response column '" + column +
                                 "' (the first column is the wavelength; columns: " + names + ")");
      }
      continue;
    }
    if (cells.size() != header.size()) {
      fail(Status::Format, "filter file '" + path + "' line " + std::to_string(lineno) + ": " +
                               std::to_string(cells.size()) + " cells, header has " +
                               std::to_string(header.size()));
    }
    double v[2];
    const std::string* src[2] = {&cells[0], &cells[static_cast<size_t>(col)]};
    for (int k = 0; k < 2; ++k) {
      char* end = nullptr;
      v[k] = std::strtod(src[k]->c_str(), &end);
      if (end == src[k]->c_str() || *end != '\0') {
        fail(Status::Format, "filter file '" + path + "' line " + std::to_string(lineno) +
                                 ": not a number: '" + *src[k] + "'");
      }
    }
    wave.push_back(v[0]);
    resp.push_back(v[1]);
  }
  if (header.empty()) fail(Status::Format, "filter file '" + path + "' has no table");
  if (name.empty()) name = base_name(path);
  try {
    return Filter(std::move(name), std::move(wave), std::move(resp));
  } catch (const Error& e) {
    fail(Status::Format, "filter file '" + path + "': " + e.what());
  }
}

std::vector<Filter> read_sdss_filters(const std::string& dir, const std::string& column) {
  std::vector<Filter> out;
  for (const char* b : kSdssBands) {
    out.push_back(Filter::read_kcorrect(dir + "/sdss_" + b + "0.dat", column, b));
  }
  return out;
}

}  // namespace gml::sed
