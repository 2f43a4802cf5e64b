#include "core/diffusion/prompt_weights.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "core/common/error.h"

namespace gml::diffusion {
namespace {

constexpr double kMaxWeight = 4.0;

[[noreturn]] void bad(size_t pos, const std::string& what) {
  fail(Status::InvalidArgument,
       "weighted prompt, character " + std::to_string(pos + 1) + ": " + what);
}

bool escapable(char c) {
  return c == '{' || c == '}' || c == ':' || c == '\\';
}

// Index of the '}' closing the group opened at `open`.
size_t group_end(const std::string& s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && escapable(s[i + 1])) {
      ++i;
    } else if (s[i] == '{') {
      ++depth;
    } else if (s[i] == '}' && --depth == 0) {
      return i;
    }
  }
  bad(open, "'{' is never closed");
}

// Index of the last ':' of the group's own level, between `begin` and `end`.
size_t weight_colon(const std::string& s, size_t begin, size_t end, size_t open) {
  size_t colon = std::string::npos;
  int depth = 0;
  for (size_t i = begin; i < end; ++i) {
    if (s[i] == '\\' && i + 1 < end && escapable(s[i + 1])) {
      ++i;
    } else if (s[i] == '{') {
      ++depth;
    } else if (s[i] == '}') {
      --depth;
    } else if (s[i] == ':' && depth == 0) {
      colon = i;
    }
  }
  if (colon == std::string::npos) bad(open, "group has no ':weight' before its '}'");
  return colon;
}

double parse_weight(const std::string& s, size_t begin, size_t end) {
  size_t b = begin, e = end;
  while (b < e && s[b] == ' ') ++b;
  while (e > b && s[e - 1] == ' ') --e;
  const std::string text = s.substr(b, e - b);
  // Plain decimals only: no exponents, signs, hex, inf or nan.
  bool digits = false, point = false, ok = !text.empty();
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      ok = false;
    }
  }
  if (!ok || !digits) bad(begin, "weight '" + text + "' is not a decimal number");
  const double w = std::strtod(text.c_str(), nullptr);
  if (!(w > 0 && w <= kMaxWeight)) bad(begin, "weight " + text + " is outside (0, 4]");
  return w;
}

void append(std::vector<PromptSpan>& out, const std::string& text, double weight) {
  if (text.empty()) return;
  if (!out.empty() && out.back().weight == weight) {
    out.back().text += text;
  } else {
    out.push_back({text, weight});
  }
}

void parse_text(const std::string& s, size_t begin, size_t end, double weight,
                std::vector<PromptSpan>& out) {
  std::string plain;
  for (size_t i = begin; i < end; ++i) {
    const char c = s[i];
    if (c == '\\') {
      if (i + 1 >= s.size()) bad(i, "dangling '\\' at the end");
      if (escapable(s[i + 1])) {
        plain += s[++i];
      } else {
        plain += c;
      }
    } else if (c == '}') {
      bad(i, "'}' without a '{'");
    } else if (c == '{') {
      append(out, plain, weight);
      plain.clear();
      const size_t close = group_end(s, i);
      const size_t colon = weight_colon(s, i + 1, close, i);
      const double w = weight * parse_weight(s, colon + 1, close);
      if (!(w > 0 && w <= kMaxWeight))
        bad(i, "nested weights multiply to " + std::to_string(w) + ", outside (0, 4]");
      parse_text(s, i + 1, colon, w, out);
      i = close;
    } else {
      plain += c;
    }
  }
  append(out, plain, weight);
}

}  // namespace

std::vector<PromptSpan> parse_weighted_prompt(const std::string& prompt) {
  std::vector<PromptSpan> out;
  parse_text(prompt, 0, prompt.size(), 1.0, out);
  return out;
}

std::string plain_prompt(const std::vector<PromptSpan>& spans) {
  std::string text;
  for (const PromptSpan& s : spans) text += s.text;
  return text;
}

}  // namespace gml::diffusion
