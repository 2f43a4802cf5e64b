// Shared pieces of the example tools: one-line failure reasons, context set-up
// from --device/--threads/--seed, and status checks that exit non-zero.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"
#include "progress_bar.h"

namespace gml_tools {

// Exits with status 1 and "tool: what: gml_last_error()" when s != GML_OK.
void check(gml_status s, const std::string& what);
[[noreturn]] void die(const std::string& message);

struct Session {
  gml_context* ctx = nullptr;
  ProgressBar bar;
  Session(const std::string& device, int threads, uint64_t seed, bool quiet,
          const std::string& backend = "none");
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

// "10.5,6,2.1,0.015" -> numbers; dies with a clear message on bad input.
std::vector<double> parse_numbers(const std::string& text, const std::string& what);

extern std::string g_tool_name;

}  // namespace gml_tools
