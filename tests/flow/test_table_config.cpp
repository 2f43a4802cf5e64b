// The architecture a star table gets (core/flow/table_config): GalacticFlow's
// for its own columns, sized to other tables with log10 where the values
// allow it, and the caller's overrides on top.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/flow/flow_file.h"
#include "core/flow/table_config.h"

namespace {

gml::flow::StarTable table(std::vector<std::string> columns, std::vector<std::string> conditions,
                           double sign) {
  gml::flow::StarTable t;
  t.columns = std::move(columns);
  t.condition_names = std::move(conditions);
  t.data = at::rand({20, static_cast<int64_t>(t.columns.size())}, at::kDouble) + 0.5;
  t.data.select(1, 0).mul_(sign);
  t.galaxy_conditions =
      at::rand({2, static_cast<int64_t>(t.condition_names.size())}, at::kDouble) + 0.5;
  return t;
}

}  // namespace

TEST(TableConfig, GalacticFlowColumnsGetThePapersArchitecture) {
  const gml::flow::FlowConfig paper = gml::flow::FlowConfig::galactic_flow();
  const gml::flow::FlowConfig c =
      gml::flow::config_for_table(table(paper.column_names, paper.condition_names, 1.0), "");
  EXPECT_EQ(c.to_json_text(), paper.to_json_text());
}

TEST(TableConfig, OtherColumnsAreSizedToTheTableWithLog10OnlyWherePositive) {
  const gml::flow::FlowConfig c =
      gml::flow::config_for_table(table({"mass", "x", "Metallicity"}, {"mean_z", "spin"}, 1.0), "");
  EXPECT_EQ(c.data_dim, 3);
  EXPECT_EQ(c.condition_dim, 2);
  EXPECT_EQ(c.log_columns, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(c.condition_log_columns, (std::vector<int64_t>{0}));
  EXPECT_EQ(c.num_blocks, gml::flow::FlowConfig::galactic_flow().num_blocks);
  // A mass column with a negative value cannot take a log.
  const gml::flow::FlowConfig neg =
      gml::flow::config_for_table(table({"mass", "x"}, {"spin"}, -1.0), "");
  EXPECT_TRUE(neg.log_columns.empty());
}

TEST(TableConfig, OverridesArePatchedOnAndBadOnesAreArgumentErrors) {
  const auto t = table({"a", "b"}, {"c"}, 1.0);
  const gml::flow::FlowConfig c =
      gml::flow::config_for_table(t, R"({"num_blocks": 3, "hidden_width": 16})");
  EXPECT_EQ(c.num_blocks, 3);
  EXPECT_EQ(c.hidden_width, 16);
  EXPECT_EQ(c.data_dim, 2) << "fields the patch leaves alone stay sized to the table";
  for (const char* bad : {"not json", "[1, 2]", R"({"hidden_width": 1e9})"}) {
    try {
      gml::flow::config_for_table(t, bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const gml::Error& e) {
      EXPECT_EQ(e.status(), gml::Status::InvalidArgument) << bad << ": " << e.what();
    }
  }
}

// A model file whose config asks for far more parameters than its tensors
// hold (each value within its bounds, their product not) is refused before
// the module is built, not after gigabytes of allocation.
TEST(FlowFile, ConfigAskingForMoreThanTheTensorsHoldIsAFormatError) {
  gml::flow::FlowConfig cfg;
  cfg.data_dim = 2;
  cfg.condition_dim = 1;
  cfg.num_blocks = 2;
  cfg.hidden_width = 8;
  cfg.hidden_layers = 2;
  cfg.column_names = {"a", "b"};
  cfg.condition_names = {"c"};
  cfg.log_columns.clear();
  cfg.condition_log_columns.clear();
  gml::flow::ConditionalFlow flow(cfg);
  gml::ModelFile file = gml::flow::flow_model_file(flow, gml::flow::FlowFileExtras{});
  EXPECT_NO_THROW(gml::flow::flow_from_model_file(file)) << "config and tensors agree";
  gml::flow::FlowConfig big = cfg;
  big.hidden_width = 2048;
  big.num_blocks = 100;
  file.config = big.to_json_text();
  try {
    gml::flow::flow_from_model_file(file);
    ADD_FAILURE() << "a config of 8e8 parameters over a few hundred stored ones was built";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Format);
    EXPECT_NE(std::string(e.what()).find("config and tensors disagree"), std::string::npos)
        << e.what();
  }
}
