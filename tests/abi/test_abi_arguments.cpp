// Every exported function, called with NULL or invalid arguments, returns an
// error status (or is a documented no-op) and never crashes.
// check_exports.sh fails when an exported symbol is missing from kCovered, so
// a new entry point cannot ship without a case here.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "galaxyml/galaxyml.h"

namespace {

// Each name below has a case in the test body.
const char* const kCovered[] = {
    "gml_status_name",
    "gml_last_error",
    "gml_clear_error",
    "gml_abi_version",
    "gml_version_string",
    "gml_build_info",
    "gml_free",
    "gml_init_options_default",
    "gml_init",
    "gml_num_threads",
    "gml_context_options_default",
    "gml_context_create",
    "gml_context_free",
    "gml_context_device",
    "gml_context_rank",
    "gml_context_set_progress",
    "gml_cancel",
    "gml_cancel_reset",
    "gml_context_selftest",
    "gml_model_file_inspect",
    "gml_model_file_config",
};

void expect_invalid(gml_status s, const char* what) {
  EXPECT_EQ(s, GML_ERR_INVALID_ARGUMENT) << what << ": " << gml_last_error();
  EXPECT_STRNE(gml_last_error(), "") << what;
}

}  // namespace

TEST(AbiArguments, EveryEntryPointRejectsNullAndInvalidArguments) {
  ASSERT_GT(sizeof kCovered / sizeof kCovered[0], 0u);
  // Functions that cannot fail still accept any input.
  EXPECT_NE(gml_status_name(-1), nullptr);
  EXPECT_NE(gml_last_error(), nullptr);
  gml_clear_error();
  EXPECT_EQ(gml_abi_version(), GML_ABI_VERSION);
  EXPECT_NE(gml_version_string(), nullptr);
  EXPECT_NE(gml_build_info(), nullptr);
  gml_free(nullptr);
  gml_init_options_default(nullptr);
  gml_context_options_default(nullptr);
  gml_context_free(nullptr);
  EXPECT_GE(gml_num_threads(), 0);

  gml_init_options io;
  gml_init_options_default(&io);
  io.struct_size = 0;
  expect_invalid(gml_init(&io), "gml_init struct_size 0");

  gml_context_options co;
  gml_context_options_default(&co);
  expect_invalid(gml_context_create(&co, nullptr), "gml_context_create out NULL");
  gml_context* ctx = nullptr;
  co.device = nullptr;
  expect_invalid(gml_context_create(&co, &ctx), "gml_context_create device NULL");
  gml_context_options_default(&co);
  co.backend = nullptr;
  expect_invalid(gml_context_create(&co, &ctx), "gml_context_create backend NULL");
  gml_context_options_default(&co);
  co.struct_size = 3;
  expect_invalid(gml_context_create(&co, &ctx), "gml_context_create struct_size");
  EXPECT_EQ(ctx, nullptr);

  size_t len = 0;
  char buf[8];
  expect_invalid(gml_context_device(nullptr, buf, sizeof buf, &len), "gml_context_device ctx");
  expect_invalid(gml_context_rank(nullptr, nullptr, nullptr), "gml_context_rank ctx");
  expect_invalid(gml_context_set_progress(nullptr, nullptr, nullptr), "set_progress ctx");
  expect_invalid(gml_cancel(nullptr), "gml_cancel ctx");
  expect_invalid(gml_cancel_reset(nullptr), "gml_cancel_reset ctx");
  expect_invalid(gml_context_selftest(nullptr, 1, nullptr), "selftest ctx");

  gml_context_options_default(&co);
  co.device = "cpu";
  ASSERT_EQ(gml_context_create(&co, &ctx), GML_OK);
  expect_invalid(gml_context_device(ctx, buf, sizeof buf, nullptr), "device length NULL");
  expect_invalid(gml_context_device(ctx, nullptr, 8, &len), "device buf NULL cap>0");
  expect_invalid(gml_context_selftest(ctx, 0, nullptr), "selftest n_steps 0");
  expect_invalid(gml_context_selftest(ctx, -5, nullptr), "selftest n_steps < 0");
  gml_context_free(ctx);

  gml_model_info info;
  info.struct_size = sizeof info;
  expect_invalid(gml_model_file_inspect(nullptr, nullptr, &info), "inspect path NULL");
  info.struct_size = 8;
  expect_invalid(gml_model_file_inspect("x.h5", nullptr, &info), "inspect struct_size");
  expect_invalid(gml_model_file_config(nullptr, buf, sizeof buf, &len), "config path NULL");
  expect_invalid(gml_model_file_config("x.h5", buf, sizeof buf, nullptr), "config length NULL");
  EXPECT_EQ(gml_model_file_inspect("", nullptr, nullptr), GML_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gml_model_file_inspect("/", nullptr, nullptr), GML_ERR_IO);
}
