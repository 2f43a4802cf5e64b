#include "core/common/progress.h"

#include <cmath>

#include "core/common/error.h"

namespace gml {

namespace {
constexpr double kReportInterval = 0.25;  // seconds between sink calls
constexpr double kRateSmoothing = 0.3;    // weight of the newest rate sample
}  // namespace

Progress::Progress(RunControl* control, std::string stage, int64_t total, std::string unit,
                   std::string metric_name)
    : control_(control),
      stage_(std::move(stage)),
      unit_(std::move(unit)),
      metric_name_(std::move(metric_name)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_report_(start_) {
  check_cancel();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::check_cancel() {
  if (control_ && control_->cancel_requested()) {
    fail(Status::Cancelled, stage_ + ": cancelled by the host");
  }
}

void Progress::update(int64_t done, double metric) {
  check_cancel();
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_report_).count() < kReportInterval) return;
  last_report_ = now;
  report(done, metric);
}

void Progress::finish(double metric) {
  check_cancel();
  report(total_ > 0 ? total_ : last_done_, metric);
}

void Progress::report(int64_t done, double metric) {
  const double t = elapsed_s();
  const double dt = t - last_t_;
  if (dt > 0 && done >= last_done_) {
    const double sample = static_cast<double>(done - last_done_) / dt;
    rate_ = (rate_ == 0.0) ? sample : kRateSmoothing * sample + (1 - kRateSmoothing) * rate_;
  }
  last_t_ = t;
  last_done_ = done;
  if (!control_ || !control_->sink()) return;
  double eta = -1.0;
  if (total_ > 0 && rate_ > 0) eta = static_cast<double>(total_ - done) / rate_;
  ProgressReport r{stage_.c_str(), done, total_, unit_.c_str(),        t,
                   rate_,          eta,  metric, metric_name_.c_str(), detail_.c_str()};
  if (control_->sink()(r) != 0) {
    fail(Status::Cancelled, stage_ + ": cancelled by the progress callback");
  }
}

}  // namespace gml
