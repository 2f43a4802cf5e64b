// What the diffusion tests share: where the golden cases are, the error
// measure against diffusers/transformers outputs, and the check that an
// error has its status and names what is wrong.
#pragma once

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <initializer_list>
#include <string>

#include "core/common/error.h"

namespace gml::diffusion::golden {

// tests/golden/diffusion/<part>/<name>.
inline std::string case_dir(const std::string& part, const std::string& name) {
  return std::string(GML_GOLDEN_DIR) + "/diffusion/" + part + "/" + name;
}

// max |a - b| relative to max(1, max |b|): relative for large outputs,
// absolute near zero. A shape mismatch is a failure and a huge error.
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e30;
  const double scale = std::max(1.0, b.abs().max().item<double>());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() / scale;
}

// Expects `f` to throw Error(status) whose message holds every one of `parts`.
template <typename F>
void expect_error(F&& f, Status status, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    for (const std::string& part : parts) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "'" << part << "' not in: " << e.what();
    }
  }
}

}  // namespace gml::diffusion::golden
