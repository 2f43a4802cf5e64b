#include "progress_bar.h"

#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>

namespace gml_tools {

namespace {

std::string format_duration(double s) {
  if (!(s >= 0) || !std::isfinite(s)) return "--:--";
  long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

std::string format_rate(double r) {
  char buf[32];
  if (r >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  } else if (r >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", r);
  }
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(bool quiet_mode) : quiet(quiet_mode), tty(isatty(STDERR_FILENO) != 0) {}

ProgressBar::~ProgressBar() {
  close();
}

void ProgressBar::close() {
  if (drawn) std::fputc('\n', stderr);
  drawn = false;
}

int32_t ProgressBar::callback(const gml_progress* p, void* user) {
  auto* bar = static_cast<ProgressBar*>(user);
  if (bar->quiet) return 0;
  const bool finished = p->total > 0 && p->done >= p->total;
  std::string metric;
  if (p->metric_name && *p->metric_name && std::isfinite(p->metric)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s %.4g", p->metric_name, p->metric);
    metric = buf;
  }
  if (p->struct_size >= offsetof(gml_progress, detail) + sizeof(p->detail) && p->detail &&
      *p->detail) {
    metric += std::string("  ") + p->detail;
  }
  char counts[96];
  if (p->total > 0) {
    std::snprintf(counts, sizeof counts, "%lld/%lld %s", static_cast<long long>(p->done),
                  static_cast<long long>(p->total), p->unit);
  } else {
    std::snprintf(counts, sizeof counts, "%lld %s", static_cast<long long>(p->done), p->unit);
  }
  const std::string rate = format_rate(p->rate) + " " + p->unit + "/s";
  if (bar->tty) {
    constexpr int kWidth = 28;
    const double frac = p->total > 0 ? static_cast<double>(p->done) / p->total : 0.0;
    const int filled = static_cast<int>(frac * kWidth);
    std::string cells(static_cast<size_t>(filled), '#');
    cells.resize(kWidth, '.');
    std::fprintf(stderr, "\r%-8s [%s] %3.0f%% %s  %s  ETA %s%s\033[K", p->stage, cells.c_str(),
                 100 * frac, counts, rate.c_str(), format_duration(p->eta_s).c_str(),
                 metric.c_str());
    bar->drawn = true;
    if (finished) bar->close();
  } else if ((finished && p->done != bar->last_done) || p->elapsed_s - bar->last_line_s >= 5.0) {
    // Plain lines at most every 5 s keep batch logs readable.
    bar->last_line_s = p->elapsed_s;
    bar->last_done = p->done;
    std::fprintf(stderr, "%s: %s, %s, elapsed %s, ETA %s%s\n", p->stage, counts, rate.c_str(),
                 format_duration(p->elapsed_s).c_str(), format_duration(p->eta_s).c_str(),
                 metric.c_str());
  }
  std::fflush(stderr);
  return 0;
}

}  // namespace gml_tools
