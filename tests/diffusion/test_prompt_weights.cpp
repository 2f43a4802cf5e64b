// The {tag:w} syntax of GalaxySD's weighted prompts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/diffusion/prompt_weights.h"

namespace gml::diffusion {
namespace {

using Spans = std::vector<std::pair<std::string, double>>;

Spans spans_of(const std::string& prompt) {
  Spans out;
  for (const PromptSpan& s : parse_weighted_prompt(prompt)) out.emplace_back(s.text, s.weight);
  return out;
}

TEST(WeightedPrompt, GroupsWeightTheirTextAndNest) {
  EXPECT_EQ(spans_of("a barred spiral galaxy"), (Spans{{"a barred spiral galaxy", 1.0}}));
  EXPECT_EQ(spans_of("a {barred:1.3} spiral galaxy"),
            (Spans{{"a ", 1.0}, {"barred", 1.3}, {" spiral galaxy", 1.0}}));
  // The paper's use: several tags, each with its weight.
  EXPECT_EQ(spans_of("{spiral arms:1.2}, {bar: 1.4 }, face-on"),
            (Spans{{"spiral arms", 1.2}, {", ", 1.0}, {"bar", 1.4}, {", face-on", 1.0}}));
  // Nested weights multiply; the last top-level ':' starts the weight.
  const Spans nested = spans_of("{merging {tidal tails:2}:1.5} pair");
  ASSERT_EQ(nested.size(), 3u);
  EXPECT_EQ(nested[0], (std::pair<std::string, double>{"merging ", 1.5}));
  EXPECT_EQ(nested[1].first, "tidal tails");
  EXPECT_DOUBLE_EQ(nested[1].second, 3.0);
  EXPECT_EQ(nested[2], (std::pair<std::string, double>{" pair", 1.0}));
  EXPECT_EQ(spans_of("{ratio 1:3 merger:1.1}"), (Spans{{"ratio 1:3 merger", 1.1}}));
  // ':' outside groups is text; escapes are the characters themselves.
  EXPECT_EQ(spans_of("ratio 1:3"), (Spans{{"ratio 1:3", 1.0}}));
  EXPECT_EQ(spans_of(R"(\{not a group\} a\\b {x\:y:2})"),
            (Spans{{R"({not a group} a\b )", 1.0}, {"x:y", 2.0}}));
  EXPECT_EQ(spans_of(R"(C:\path)"), (Spans{{R"(C:\path)", 1.0}}));
  // Equal neighbours merge, empty groups vanish; weight 1 is plain text.
  EXPECT_EQ(spans_of("{a:1}b{:2}"), (Spans{{"ab", 1.0}}));
  EXPECT_EQ(spans_of(""), Spans{});
  EXPECT_EQ(plain_prompt(parse_weighted_prompt("a {b {c:2}:1.5} d")), "a b c d");
  EXPECT_EQ(spans_of("{a:4}"), (Spans{{"a", 4.0}}));
  EXPECT_EQ(spans_of("{a:.5}"), (Spans{{"a", 0.5}}));
}

TEST(WeightedPrompt, MalformedPromptsNameThePlace) {
  auto refused = [](const std::string& prompt, const std::string& part) {
    try {
      parse_weighted_prompt(prompt);
      ADD_FAILURE() << "'" << prompt << "' was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  refused("a {spiral:1.2", "character 3: '{' is never closed");
  refused("spiral:1.2} arms", "character 11: '}' without a '{'");
  refused("{spiral}", "no ':weight'");
  refused("{spiral:}", "not a decimal number");
  refused("{spiral:high}", "'high' is not a decimal number");
  refused("{spiral:1e1}", "not a decimal number");
  refused("{spiral:-1}", "not a decimal number");
  refused("{spiral:nan}", "not a decimal number");
  refused("{spiral:0}", "outside (0, 4]");
  refused("{spiral:4.5}", "outside (0, 4]");
  refused("{spiral:1.2.3}", "not a decimal number");
  refused("{{spiral:3}:2}", "multiply to");
  refused("{a {b:1.2:1.1}", "never closed");
  refused("trailing \\", "dangling");
}

}  // namespace
}  // namespace gml::diffusion
