// The architecture a star table gets (core/flow/table_config): GalacticFlow's
// for its own columns, sized to other tables with log10 where the values
// allow it, and the caller's overrides on top.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/common/error.h"
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
