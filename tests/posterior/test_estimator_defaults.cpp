// The network and batch `train` picks for the fields a caller leaves at 0:
// SEDflow's for the built-in SED model, sbi's NPE defaults otherwise, the
// batch bounded by the training rows; values the caller set are kept.
#include <gtest/gtest.h>

#include "core/posterior/estimator_defaults.h"
#include "core/posterior/posterior_training.h"

namespace post = gml::posterior;

namespace estimator_defaults_test {

post::PosteriorConfig open_config(post::Estimator e) {
  post::PosteriorConfig c;
  c.estimator = e;
  c.num_blocks = 0;
  c.hidden_width = 0;
  c.num_bins = 0;
  return c;
}

TEST(EstimatorDefaults, SedModelGetsSedflowOthersGetSbi) {
  post::PosteriorConfig sed = open_config(post::Estimator::Maf);
  post::PosteriorTrainOptions t;
  t.batch_size = 0;
  const std::string why = post::apply_estimator_defaults(sed, t, "sed_ugriz", 1000000);
  EXPECT_EQ(sed.num_blocks, 15);
  EXPECT_EQ(sed.hidden_width, 500);
  EXPECT_EQ(t.batch_size, 50);
  EXPECT_NE(why.find("SEDflow"), std::string::npos) << why;

  post::PosteriorConfig generic = open_config(post::Estimator::Nsf);
  t.batch_size = 0;
  const std::string why_sbi = post::apply_estimator_defaults(generic, t, "", 100000);
  EXPECT_EQ(generic.num_blocks, 5);
  EXPECT_EQ(generic.hidden_width, 50);
  EXPECT_EQ(generic.num_bins, 10);
  EXPECT_EQ(t.batch_size, 200);
  EXPECT_NE(why_sbi.find("sbi"), std::string::npos) << why_sbi;
  EXPECT_NO_THROW(generic.validate());
}

TEST(EstimatorDefaults, CallerValuesStayAndSmallSetsGetSmallerBatches) {
  post::PosteriorConfig c = open_config(post::Estimator::Maf);
  c.num_blocks = 3;
  post::PosteriorTrainOptions t;
  t.batch_size = 0;
  t.validation_fraction = 0.1;
  post::apply_estimator_defaults(c, t, "", 400);
  EXPECT_EQ(c.num_blocks, 3);
  EXPECT_EQ(c.hidden_width, 50);
  EXPECT_EQ(t.batch_size, 90);  // a quarter of the 360 training rows

  post::PosteriorConfig fixed;  // every field set: nothing to choose
  post::PosteriorTrainOptions given;
  given.batch_size = 17;
  EXPECT_EQ(post::apply_estimator_defaults(fixed, given, "", 10), "");
  EXPECT_EQ(given.batch_size, 17);
  EXPECT_EQ(fixed.num_blocks, 15);

  post::PosteriorConfig tiny = open_config(post::Estimator::Maf);
  post::PosteriorTrainOptions t2;
  t2.batch_size = 0;
  post::apply_estimator_defaults(tiny, t2, "", 3);
  EXPECT_EQ(t2.batch_size, 1);
}

}  // namespace estimator_defaults_test
