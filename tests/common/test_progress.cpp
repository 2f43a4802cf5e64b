#include <gtest/gtest.h>

#include <thread>

#include "core/common/error.h"
#include "core/common/progress.h"

TEST(Progress, ReportsRateEtaAndFinalCount) {
  gml::RunControl control;
  std::vector<gml::ProgressReport> reports;
  control.set_sink([&](const gml::ProgressReport& r) {
    reports.push_back(r);
    return 0;
  });
  gml::Progress p(&control, "train", 100, "steps", "loss");
  for (int i = 1; i <= 100; ++i) {
    if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(60));
    p.update(i, 1.0 / i);
  }
  p.finish(0.01);
  ASSERT_GE(reports.size(), 2u);  // throttled, but at least one update and the final one
  EXPECT_EQ(reports.back().done, 100);
  EXPECT_EQ(reports.back().total, 100);
  EXPECT_STREQ(reports.back().unit, "steps");
  EXPECT_STREQ(reports.back().metric_name, "loss");
  EXPECT_DOUBLE_EQ(reports.back().metric, 0.01);
  EXPECT_GT(reports.back().rate, 0.0);
  EXPECT_GE(reports.front().eta_s, 0.0);
  EXPECT_LE(reports.size(), 12u) << "reports must be throttled";
}

TEST(Progress, SinkReturningNonZeroCancels) {
  gml::RunControl control;
  control.set_sink([](const gml::ProgressReport&) { return 1; });
  gml::Progress p(&control, "sample", 10, "rows");
  try {
    p.finish();
    FAIL() << "expected cancellation";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Cancelled);
  }
}

TEST(Progress, CancelFromAnotherThreadStaysUntilReset) {
  gml::RunControl control;
  std::thread t([&] { control.request_cancel(); });
  t.join();
  // A request made before the call starts stops it at its first check...
  try {
    gml::Progress p(&control, "train", 0, "steps");
    FAIL() << "expected cancellation";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Cancelled);
  }
  // ...and every later one until it is reset.
  EXPECT_THROW(gml::Progress(&control, "train", 0, "steps").finish(), gml::Error);
  control.reset_cancel();
  EXPECT_NO_THROW(gml::Progress(&control, "train", 0, "steps").finish());
}
