// A GoogleTest fixture whose shared, expensive state (trained models,
// simulated files) is built once per process by the first test that runs.
//
// Why not SetUpTestSuite: GoogleTest reports every test of a fixture whose
// SetUpTestSuite failed as skipped, and ctest then shows "Skipped", so a
// broken setup passed unnoticed. Here the failure fails the test that met
// it, and every later test of the fixture fails with a pointer to it.
//
//   class AbiMerger : public gml::test::PreparedFixture<AbiMerger> {
//     friend class gml::test::PreparedFixture<AbiMerger>;
//     static void Prepare();           // may use ASSERT_*
//     static void TearDownTestSuite(); // cleans up what Prepare made
//   };
#pragma once

#include <gtest/gtest.h>

namespace gml::test {

template <class Derived>
class PreparedFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!prepared_) {
      prepared_ = true;
      Derived::Prepare();
      prepare_failed_ = HasFatalFailure();
    }
    ASSERT_FALSE(prepare_failed_) << "the fixture's shared preparation failed (see the first test)";
  }

 private:
  static inline bool prepared_ = false;
  static inline bool prepare_failed_ = false;
};

}  // namespace gml::test
