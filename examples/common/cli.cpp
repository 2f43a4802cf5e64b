#include "cli.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace gml_tools {

std::string g_tool_name = "galaxyml";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", g_tool_name.c_str(), message.c_str());
  std::exit(1);
}

void check(gml_status s, const std::string& what) {
  if (s != GML_OK) die(what + ": " + gml_last_error() + " [" + gml_status_name(s) + "]");
}

Session::Session(const std::string& device, int threads, uint64_t seed, bool quiet,
                 const std::string& backend)
    : bar(quiet) {
  gml_init_options init;
  gml_init_options_default(&init);
  init.num_threads = threads;
  init.seed = seed;
  if (quiet) init.log_level = GML_LOG_ERROR;
  check(gml_init(&init), "initialisation");
  gml_context_options o;
  gml_context_options_default(&o);
  o.device = device.c_str();
  o.backend = backend.c_str();
  check(gml_context_create(&o, &ctx), "device '" + device + "'");
  check(gml_context_set_progress(ctx, ProgressBar::callback, &bar), "progress");
}

Session::~Session() {
  bar.close();
  gml_context_free(ctx);
}

std::vector<double> parse_numbers(const std::string& text, const std::string& what) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || !end || *end != '\0' || !std::isfinite(v)) {
      die(what + ": '" + item + "' is not a finite number");
    }
    out.push_back(v);
  }
  return out;
}

}  // namespace gml_tools
