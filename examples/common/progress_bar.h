// Terminal progress for the example tools: a redrawn bar on a TTY, plain
// periodic lines otherwise (logs, batch jobs). Plugs into the C ABI's
// progress callback.
#pragma once

#include <cstdint>

#include "galaxyml/galaxyml.h"

namespace gml_tools {

struct ProgressBar {
  bool quiet = false;
  bool tty = false;
  double last_line_s = -1e9;  // when the last plain line was printed
  bool drawn = false;         // a bar is on screen and needs a newline
  int64_t last_done = -1;     // last count printed as a plain line

  explicit ProgressBar(bool quiet_mode);
  ~ProgressBar();
  // Ends the current bar line, if any.
  void close();
  // The gml_progress_fn; `user` is the ProgressBar.
  static int32_t callback(const gml_progress* p, void* user);
};

}  // namespace gml_tools
