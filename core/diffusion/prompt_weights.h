// GalaxySD's weighted prompts (its Eq. 4): "{tag:w}" scales the contextual
// embeddings of the tag's tokens by w before cross-attention, so a survey
// can push a morphology ("{spiral arms:1.3}, {bar:1.1} galaxy") without
// retraining. This is the syntax: the text the tokenizer sees and the
// weight of each piece of it.
//
//   text      := (plain | group)*
//   group     := "{" text ":" weight "}"    the last top-level ':' of the
//                                          group starts its weight
//   weight    := decimal number in (0, 4]
//   escapes   := "\{" "\}" "\:" "\\" are the characters themselves
// Groups nest and their weights multiply; the product must stay in (0, 4].
// A ':' outside any group is plain text ("ratio 1:3 merger").
#pragma once

#include <string>
#include <vector>

namespace gml::diffusion {

struct PromptSpan {
  std::string text;
  double weight = 1.0;
};

// The prompt as spans of plain text with their weights, in order, adjacent
// spans of equal weight merged, empty spans dropped. Throws
// Error(InvalidArgument) naming the character position (1-based) for an
// unclosed or unopened brace, a group without ":weight", a weight that is
// not a number or lies outside (0, 4], a nested product outside (0, 4], or
// a dangling backslash.
std::vector<PromptSpan> parse_weighted_prompt(const std::string& prompt);

// The spans' text joined: the prompt without its weighting syntax.
std::string plain_prompt(const std::vector<PromptSpan>& spans);

}  // namespace gml::diffusion
