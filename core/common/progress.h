// Progress, rate, ETA and cancellation of long calls.
//
// A RunControl belongs to one context: the host's progress sink and an atomic
// cancel flag that any thread may raise. A Progress tracks one stage of one
// long call; its update() throttles reports to a few per second, computes an
// exponentially smoothed rate and the ETA, calls the sink on the caller's
// thread, and throws Error(Cancelled) when the host asked to stop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

namespace gml {

struct ProgressReport {
  const char* stage;
  int64_t done;
  int64_t total;  // 0 when unknown
  const char* unit;
  double elapsed_s;
  double rate;   // units per second
  double eta_s;  // negative when unknown
  double metric;
  const char* metric_name;
  const char* detail;  // further figures as text, e.g. "lr 8.8e-05  val 1.23"
};

// Returns non-zero to cancel.
using ProgressSink = std::function<int(const ProgressReport&)>;

class RunControl {
 public:
  void set_sink(ProgressSink sink) { sink_ = std::move(sink); }
  const ProgressSink& sink() const { return sink_; }

  // A request stays until reset_cancel(), and stops every call that checks
  // while it is set (ONNX Runtime's SetTerminate/UnsetTerminate). A request
  // consumed by the first check would be lost to a call that had not yet
  // started, or would silently stop a later, unrelated call.
  void request_cancel() noexcept { cancel_.store(true, std::memory_order_relaxed); }
  void reset_cancel() noexcept { cancel_.store(false, std::memory_order_relaxed); }
  bool cancel_requested() const noexcept { return cancel_.load(std::memory_order_relaxed); }

 private:
  ProgressSink sink_;
  std::atomic<bool> cancel_{false};
};

class Progress {
 public:
  Progress(RunControl* control, std::string stage, int64_t total, std::string unit,
           std::string metric_name = "");

  // Reports `done` units finished; throws Error(Cancelled) when cancelled.
  // Cheap enough to call once per batch.
  void update(int64_t done, double metric = std::numeric_limits<double>::quiet_NaN());
  // Final report (always delivered) at done == total.
  void finish(double metric = std::numeric_limits<double>::quiet_NaN());
  // Checks for cancellation without reporting.
  void check_cancel();
  // Text sent with the following reports (learning rate, validation loss...).
  void set_detail(std::string detail) { detail_ = std::move(detail); }

  double elapsed_s() const;
  double rate() const { return rate_; }

 private:
  void report(int64_t done, double metric);

  RunControl* control_;
  std::string stage_, unit_, metric_name_, detail_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_, last_report_;
  int64_t last_done_ = 0;
  double last_t_ = 0.0;
  double rate_ = 0.0;
};

}  // namespace gml
