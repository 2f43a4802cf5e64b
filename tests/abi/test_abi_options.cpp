// The options-struct handshake through the shipped library: a caller built
// against a newer header (a longer struct) is accepted when its unknown tail
// is zero and refused when it sets a field this library does not have; a size
// below a struct's first published size is refused; a caller built before a
// field was appended does not have that field read. The older-header caller
// itself is tests/abi/frozen/frozen_caller.c.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "galaxyml/galaxyml.h"

namespace {

// The caller's struct as a newer header might lay it out.
template <class T>
struct Longer {
  T base;
  uint64_t tail[3];
};

int failing_simulator(const double*, int64_t, double*, void*) {
  return 1;
}

std::string work_path(const std::string& name) {
  return testing::TempDir() + "gml_options_" + std::to_string(::getpid()) + "_" + name;
}

class AbiOptions : public testing::Test {
 protected:
  void SetUp() override {
    gml_context_options o;
    gml_context_options_default(&o);
    o.device = "cpu";
    ASSERT_EQ(gml_context_create(&o, &ctx_), GML_OK) << gml_last_error();
  }
  void TearDown() override { gml_context_free(ctx_); }

  // Runs `call` with a struct the caller laid out longer than this library's,
  // then with its tail set, then with a size below any published one.
  // `accepted` tells apart the status of an accepted struct (the call goes on
  // and fails later, or succeeds) from a refusal of the struct.
  template <class T>
  void check_struct(const char* name, void (*fill)(T*),
                    const std::function<gml_status(const T*)>& call) {
    SCOPED_TRACE(name);
    Longer<T> longer{};
    fill(&longer.base);
    longer.base.struct_size = sizeof longer;
    gml_clear_error();
    gml_status s = call(&longer.base);
    if (s != GML_OK) {
      EXPECT_EQ(std::string(gml_last_error()).find("struct_size"), std::string::npos)
          << "a longer struct with a zero tail was refused: " << gml_last_error();
      EXPECT_EQ(std::string(gml_last_error()).find("newer galaxyml.h"), std::string::npos)
          << gml_last_error();
    }

    longer.tail[1] = 1;
    s = call(&longer.base);
    EXPECT_EQ(s, GML_ERR_INVALID_ARGUMENT);
    const std::string tail_error = gml_last_error();
    EXPECT_NE(tail_error.find("newer galaxyml.h"), std::string::npos) << tail_error;
    EXPECT_NE(tail_error.find(name), std::string::npos) << tail_error;
    EXPECT_NE(tail_error.find("byte " + std::to_string(sizeof(T) + 8)), std::string::npos)
        << tail_error;

    T small;
    fill(&small);
    small.struct_size = 4;
    EXPECT_EQ(call(&small), GML_ERR_INVALID_ARGUMENT);
    const std::string small_error = gml_last_error();
    EXPECT_NE(small_error.find(std::string(name) + "_default()"), std::string::npos) << small_error;

    small.struct_size = 1u << 20;
    EXPECT_EQ(call(&small), GML_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(gml_last_error()).find("struct_size"), std::string::npos);
  }

  gml_context* ctx_ = nullptr;
};

TEST_F(AbiOptions, EveryOptionsStructAcceptsLongerCallersAndRefusesUnknownFields) {
  const std::string missing = work_path("missing.fits");
  const std::string never = work_path("never.h5");

  check_struct<gml_init_options>("gml_init_options", gml_init_options_default,
                                 [](const gml_init_options* o) { return gml_init(o); });
  check_struct<gml_context_options>("gml_context_options", gml_context_options_default,
                                    [](const gml_context_options* o) {
                                      gml_context* c = nullptr;
                                      gml_status s = gml_context_create(o, &c);
                                      gml_context_free(c);
                                      return s;
                                    });
  check_struct<gml_table_writer_options>(
      "gml_table_writer_options", gml_table_writer_options_default,
      [&](const gml_table_writer_options* o) {
        gml_table_writer* w = nullptr;
        gml_status s = gml_table_writer_create(work_path("table.fits").c_str(), o, &w);
        gml_table_writer_free(w);
        return s;
      });
  check_struct<gml_cutout_options>("gml_cutout_options", gml_cutout_options_default,
                                   [&](const gml_cutout_options* o) {
                                     const char* paths[] = {missing.c_str()};
                                     int64_t h = 0, w = 0;
                                     return gml_cutouts_shape(paths, 1, o, &h, &w);
                                   });
  check_struct<gml_flow_train_options>("gml_flow_train_options", gml_flow_train_options_default,
                                       [&](const gml_flow_train_options* o) {
                                         return gml_flow_train(ctx_, missing.c_str(), o,
                                                               never.c_str());
                                       });
  check_struct<gml_posterior_simulate_options>(
      "gml_posterior_simulate_options", gml_posterior_simulate_options_default,
      [&](const gml_posterior_simulate_options* o) {
        const double lo = 0, hi = 1;
        // A simulator that fails: the call stops after the options were read.
        return gml_posterior_simulate(ctx_, failing_simulator, nullptr, 1, 1, &lo, &hi, 1, o,
                                      never.c_str());
      });
  check_struct<gml_posterior_train_options>(
      "gml_posterior_train_options", gml_posterior_train_options_default,
      [&](const gml_posterior_train_options* o) {
        return gml_posterior_train(ctx_, missing.c_str(), o, never.c_str());
      });
  check_struct<gml_merger_simulate_options>(
      "gml_merger_simulate_options", gml_merger_simulate_options_default,
      [&](const gml_merger_simulate_options* o) {
        // An invalid image size stops the run right after the options.
        Longer<gml_merger_simulate_options> copy{};
        std::memcpy(&copy, o, std::min<size_t>(o->struct_size, sizeof copy));
        copy.base.image_size = -1;
        return gml_merger_simulate(ctx_, &copy.base, never.c_str(), nullptr);
      });
  check_struct<gml_merger_train_options>(
      "gml_merger_train_options", gml_merger_train_options_default,
      [&](const gml_merger_train_options* o) {
        return gml_merger_train(ctx_, missing.c_str(), o, never.c_str(), nullptr);
      });
  std::remove(work_path("table.fits").c_str());
}

TEST_F(AbiOptions, FieldsBeyondAnOlderCallersStructAreNotRead) {
  // lr_schedule was appended to gml_merger_train_options after it was first
  // published. A caller built before that passes the shorter size; whatever
  // lies after it in memory is not its field and must not be read (here a
  // value the library would refuse by name).
  gml_merger_train_options o;
  gml_merger_train_options_default(&o);
  o.lr_schedule = "zigzag";
  o.struct_size = offsetof(gml_merger_train_options, lr_schedule);
  const std::string missing = work_path("no_mergers.fits");
  EXPECT_NE(gml_merger_train(ctx_, missing.c_str(), &o, work_path("never.h5").c_str(), nullptr),
            GML_OK);
  EXPECT_EQ(std::string(gml_last_error()).find("zigzag"), std::string::npos) << gml_last_error();
  EXPECT_NE(std::string(gml_last_error()).find("no_mergers"), std::string::npos)
      << gml_last_error();

  // The same struct at full size has the field read.
  o.struct_size = sizeof o;
  EXPECT_EQ(gml_merger_train(ctx_, missing.c_str(), &o, work_path("never.h5").c_str(), nullptr),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("zigzag"), std::string::npos) << gml_last_error();

  // One byte short of the first published size is not this struct.
  o.struct_size = offsetof(gml_merger_train_options, lr_schedule) - 1;
  EXPECT_EQ(gml_merger_train(ctx_, missing.c_str(), &o, work_path("never.h5").c_str(), nullptr),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("gml_merger_train_options_default()"),
            std::string::npos)
      << gml_last_error();
}

TEST_F(AbiOptions, ResultStructsAreWrittenOnlyAsFarAsTheCallerSized) {
  // gml_model_info is a result struct of the caller's size: a longer one gets
  // this library's fields and keeps its own tail and struct_size.
  Longer<gml_model_info> info{};
  info.base.struct_size = sizeof info;
  info.tail[0] = 0x5a5a5a5a5a5a5a5aull;
  ASSERT_EQ(gml_model_file_inspect(GML_FIXTURES "/valid_flow.h5", "flow", &info.base), GML_OK)
      << gml_last_error();
  EXPECT_STREQ(info.base.family, "flow");
  EXPECT_GT(info.base.n_parameters, 0);
  EXPECT_EQ(info.base.struct_size, sizeof info);
  EXPECT_EQ(info.tail[0], 0x5a5a5a5a5a5a5a5aull);

  gml_model_info small{};
  small.struct_size = offsetof(gml_model_info, n_parameters);
  EXPECT_EQ(gml_model_file_inspect(GML_FIXTURES "/valid_flow.h5", "flow", &small),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("gml_model_info"), std::string::npos);
}

}  // namespace
