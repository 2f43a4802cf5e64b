#include "core/posterior/estimator_defaults.h"

#include <algorithm>
#include <cmath>

#include "core/posterior/posterior_training.h"

namespace gml::posterior {
namespace {

struct Rule {
  const char* name;
  int64_t num_blocks, hidden_width, num_bins, batch_size;
};

// SEDflow (Hahn & Melchior 2022): 15 MADE blocks of 2 x 500, batch 50.
constexpr Rule kSedflow{"SEDflow's network for the SED model", 15, 500, 8, 50};
// sbi 0.27 posterior_nn("maf" | "nsf") and its NPE training: 5 transforms
// of 50 hidden units, 10 spline bins, batch 200.
constexpr Rule kSbi{"sbi's NPE defaults for a generic simulator", 5, 50, 10, 200};

}  // namespace

std::string apply_estimator_defaults(PosteriorConfig& config, PosteriorTrainOptions& train,
                                     const std::string& observation, int64_t rows) {
  const Rule& rule = observation == "sed_ugriz" ? kSedflow : kSbi;
  bool chosen = false;
  auto fill = [&](int64_t& field, int64_t value) {
    if (field == 0) {
      field = value;
      chosen = true;
    }
  };
  fill(config.num_blocks, rule.num_blocks);
  fill(config.hidden_width, rule.hidden_width);
  if (config.estimator == Estimator::Nsf) {
    fill(config.num_bins, rule.num_bins);
  } else if (config.num_bins == 0) {
    config.num_bins = rule.num_bins;  // unused by a MAF, but stored valid
  }
  std::string account;
  if (train.batch_size == 0) {
    // A batch larger than the training rows would make every epoch one
    // full-batch step; small sets get several steps per epoch instead.
    const auto train_rows = static_cast<int64_t>(
        std::floor(static_cast<double>(rows) * (1.0 - train.validation_fraction)));
    train.batch_size = std::max<int64_t>(1, std::min(rule.batch_size, train_rows / 4));
    chosen = true;
    if (train.batch_size < rule.batch_size) {
      account =
          " (batch lowered to a quarter of the " + std::to_string(train_rows) + " training rows)";
    }
  }
  if (!chosen) return "";
  return std::string(estimator_name(config.estimator)) +
         (config.coupling ? " (spline couplings)" : "") + " of " +
         std::to_string(config.num_blocks) + " blocks x " + std::to_string(config.hidden_width) +
         (config.estimator == Estimator::Nsf ? ", " + std::to_string(config.num_bins) + " bins"
                                             : "") +
         ", batch " + std::to_string(train.batch_size) + ": " + rule.name + account;
}

}  // namespace gml::posterior
