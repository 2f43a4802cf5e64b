// Behaviour of the C ABI as a host sees it: only galaxyml.h and the .so.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace {

std::string fixture(const char* name) {
  return std::string(GML_FIXTURES) + "/" + name;
}

gml_context* cpu_context(uint64_t seed = 0) {
  gml_context_options o;
  gml_context_options_default(&o);
  o.device = "cpu";
  o.seed_from_init = 0;
  o.seed = seed;
  gml_context* ctx = nullptr;
  EXPECT_EQ(gml_context_create(&o, &ctx), GML_OK) << gml_last_error();
  return ctx;
}

}  // namespace

TEST(Abi, VersionsAgree) {
  EXPECT_EQ(gml_abi_version(), GML_ABI_VERSION);
  EXPECT_STRNE(gml_version_string(), "");
  EXPECT_NE(std::string(gml_build_info()).find("LibTorch"), std::string::npos);
  EXPECT_STREQ(gml_status_name(GML_ERR_DEVICE), "GML_ERR_DEVICE");
  EXPECT_STREQ(gml_status_name(12345), "GML_ERR_UNKNOWN");
}

TEST(Abi, InitIsIdempotentAndValidates) {
  gml_init_options o;
  gml_init_options_default(&o);
  EXPECT_EQ(o.struct_size, sizeof o);
  EXPECT_EQ(gml_init(&o), GML_OK);
  EXPECT_EQ(gml_init(&o), GML_OK);
  EXPECT_EQ(gml_init(nullptr), GML_OK);
  EXPECT_GT(gml_num_threads(), 0);
  o.num_threads = -3;
  EXPECT_EQ(gml_init(&o), GML_ERR_INVALID_ARGUMENT);
  // Above the bound is an argument error, not a warning that the count is
  // already fixed: 100,000 threads would turn seconds into minutes.
  o.num_threads = GML_MAX_THREADS + 1;
  EXPECT_EQ(gml_init(&o), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("1024"), std::string::npos);
  o.num_threads = 100000;
  EXPECT_EQ(gml_init(&o), GML_ERR_INVALID_ARGUMENT);
  o.num_threads = 0;
  o.log_level = 9;
  EXPECT_EQ(gml_init(&o), GML_ERR_INVALID_ARGUMENT);
  o.log_level = GML_LOG_WARNING;
  o.struct_size = 4;
  EXPECT_EQ(gml_init(&o), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("struct_size"), std::string::npos);
}

TEST(Abi, LogCallbackReceivesWarnings) {
  struct Sink {
    std::vector<std::string> lines;
  } sink;
  gml_init_options o;
  gml_init_options_default(&o);
  o.log_fn = [](int32_t level, const char* msg, void* user) {
    if (level == GML_LOG_WARNING) static_cast<Sink*>(user)->lines.emplace_back(msg);
  };
  o.log_user = &sink;
  ASSERT_EQ(gml_init(&o), GML_OK);
  o.num_threads = gml_num_threads() + 1;  // the count is fixed: this only warns
  ASSERT_EQ(gml_init(&o), GML_OK);
  ASSERT_EQ(sink.lines.size(), 1u);
  EXPECT_NE(sink.lines[0].find("ignored"), std::string::npos);
  gml_init_options_default(&o);
  ASSERT_EQ(gml_init(&o), GML_OK);  // back to stderr
}

TEST(Abi, CpuContextAndDeviceStringOut) {
  gml_context* ctx = cpu_context();
  ASSERT_NE(ctx, nullptr);
  size_t len = 0;
  ASSERT_EQ(gml_context_device(ctx, nullptr, 0, &len), GML_OK);
  EXPECT_EQ(len, 4u);
  char small[2] = {'x', 'y'};
  EXPECT_EQ(gml_context_device(ctx, small, sizeof small, &len), GML_ERR_CAPACITY);
  EXPECT_EQ(small[0], 'x') << "output must be untouched on error";
  char buf[16];
  ASSERT_EQ(gml_context_device(ctx, buf, sizeof buf, &len), GML_OK);
  EXPECT_STREQ(buf, "cpu");
  int32_t rank = -1, size = -1;
  ASSERT_EQ(gml_context_rank(ctx, &rank, &size), GML_OK);
  EXPECT_EQ(rank, 0);
  EXPECT_EQ(size, 1);
  gml_context_free(ctx);
  gml_context_free(nullptr);
}

TEST(Abi, DeviceSelection) {
  gml_context_options o;
  gml_context_options_default(&o);
  gml_context* ctx = nullptr;
  o.device = "auto";
  ASSERT_EQ(gml_context_create(&o, &ctx), GML_OK);
  char buf[16];
  size_t len = 0;
  ASSERT_EQ(gml_context_device(ctx, buf, sizeof buf, &len), GML_OK);
  const bool have_gpu = std::string(buf) != "cpu";
  gml_context_free(ctx);

  ctx = reinterpret_cast<gml_context*>(0x1);  // must stay untouched on error
  o.device = "cuda";
  gml_status s = gml_context_create(&o, &ctx);
  if (have_gpu) {
    EXPECT_EQ(s, GML_OK);
    gml_context_free(ctx);
  } else {
    EXPECT_EQ(s, GML_ERR_DEVICE);
    EXPECT_NE(std::string(gml_last_error()).find("no usable CUDA GPU"), std::string::npos);
    EXPECT_EQ(ctx, reinterpret_cast<gml_context*>(0x1));
  }
  o.device = "cuda:99";
  EXPECT_EQ(gml_context_create(&o, &ctx), GML_ERR_DEVICE);
  for (const char* bad : {"gpu", "cuda:", "", "cpu0", "cuda:1x"}) {
    o.device = bad;
    EXPECT_EQ(gml_context_create(&o, &ctx), GML_ERR_INVALID_ARGUMENT) << bad;
  }
  o.device = "cpu";
  o.backend = "nccl";
  EXPECT_EQ(gml_context_create(&o, &ctx), GML_ERR_INVALID_ARGUMENT);
}

TEST(Abi, LastErrorIsPerThread) {
  constexpr int kThreads = 8;
  std::vector<std::string> seen(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      gml_context_options o;
      gml_context_options_default(&o);
      std::string dev = "cuda:" + std::to_string(1000 + i) + "x";  // unique bad string
      o.device = dev.c_str();
      gml_context* ctx = nullptr;
      EXPECT_EQ(gml_context_create(&o, &ctx), GML_ERR_INVALID_ARGUMENT);
      ready++;
      while (ready.load() < kThreads) std::this_thread::yield();  // all errors set
      seen[i] = gml_last_error();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_NE(seen[i].find("cuda:" + std::to_string(1000 + i) + "x"), std::string::npos) << seen[i];
  }
  gml_clear_error();
  EXPECT_STREQ(gml_last_error(), "");
}

TEST(Abi, SelftestIsDeterministicPerSeedAndReportsProgress) {
  gml_context* a = cpu_context(42);
  gml_context* b = cpu_context(42);
  gml_context* c = cpu_context(43);
  double ca = 0, cb = 0, cc = 0;
  struct Seen {
    int calls = 0;
    int64_t last_done = 0, total = 0;
  } seen;
  ASSERT_EQ(gml_context_set_progress(
                a,
                [](const gml_progress* p, void* user) -> int32_t {
                  auto* s = static_cast<Seen*>(user);
                  s->calls++;
                  s->last_done = p->done;
                  s->total = p->total;
                  return 0;
                },
                &seen),
            GML_OK);
  ASSERT_EQ(gml_context_selftest(a, 3, &ca), GML_OK) << gml_last_error();
  ASSERT_EQ(gml_context_selftest(b, 3, &cb), GML_OK);
  ASSERT_EQ(gml_context_selftest(c, 3, &cc), GML_OK);
  EXPECT_EQ(ca, cb);
  EXPECT_NE(ca, cc);
  // E[trace(X X^T)] / n^2 = 1 for standard normal entries.
  EXPECT_NEAR(ca, 1.0, 0.05);
  EXPECT_GE(seen.calls, 1);
  EXPECT_EQ(seen.last_done, 3);
  EXPECT_EQ(seen.total, 3);
  gml_context_free(a);
  gml_context_free(b);
  gml_context_free(c);
}

TEST(Abi, CancelFromAnotherThreadAndFromProgress) {
  gml_context* ctx = cpu_context();
  std::thread([ctx] { EXPECT_EQ(gml_cancel(ctx), GML_OK); }).join();
  double out = -1;
  EXPECT_EQ(gml_context_selftest(ctx, 1000000, &out), GML_ERR_CANCELLED);
  EXPECT_EQ(out, -1) << "outputs untouched on cancellation";
  EXPECT_EQ(gml_context_selftest(ctx, 2, &out), GML_ERR_CANCELLED)
      << "a cancel request stays until it is reset";
  EXPECT_EQ(gml_cancel_reset(ctx), GML_OK);
  EXPECT_EQ(gml_context_selftest(ctx, 2, &out), GML_OK) << gml_last_error();

  ASSERT_EQ(gml_context_set_progress(
                ctx, [](const gml_progress*, void*) -> int32_t { return 1; }, nullptr),
            GML_OK);
  EXPECT_EQ(gml_context_selftest(ctx, 5, &out), GML_ERR_CANCELLED);
  EXPECT_NE(std::string(gml_last_error()).find("cancelled"), std::string::npos);
  ASSERT_EQ(gml_context_set_progress(ctx, nullptr, nullptr), GML_OK);
  EXPECT_EQ(gml_context_selftest(ctx, 2, &out), GML_OK);
  gml_context_free(ctx);
}

TEST(Abi, ModelFileInspectAndEachCorruption) {
  gml_model_info info;
  info.struct_size = sizeof info;
  ASSERT_EQ(gml_model_file_inspect(fixture("valid_flow.h5").c_str(), "flow", &info), GML_OK)
      << gml_last_error();
  EXPECT_STREQ(info.family, "flow");
  EXPECT_EQ(info.format_version, GML_MODEL_FORMAT_VERSION);
  EXPECT_STREQ(info.library_version, gml_version_string());
  EXPECT_EQ(std::string(info.checksum).rfind("fnv1a64:", 0), 0u);
  EXPECT_EQ(info.n_tensors, 2);
  EXPECT_EQ(info.n_parameters, 16 * 8 + 16);
  EXPECT_EQ(gml_model_file_inspect(fixture("valid_flow.h5").c_str(), nullptr, nullptr), GML_OK);

  gml_model_info untouched;
  untouched.struct_size = sizeof untouched;
  untouched.n_tensors = -7;
  struct Case {
    const char* file;
    const char* family;
    gml_status want;
  } cases[] = {
      {"valid_flow.h5", "merger", GML_ERR_FAMILY}, {"newer_version.h5", nullptr, GML_ERR_VERSION},
      {"truncated.h5", nullptr, GML_ERR_FORMAT},   {"bad_checksum.h5", nullptr, GML_ERR_CHECKSUM},
      {"not_hdf5.h5", nullptr, GML_ERR_FORMAT},    {"absent.h5", nullptr, GML_ERR_IO},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(gml_model_file_inspect(fixture(c.file).c_str(), c.family, &untouched), c.want)
        << c.file << ": " << gml_last_error();
    EXPECT_STRNE(gml_last_error(), "");
    EXPECT_EQ(untouched.n_tensors, -7) << c.file;
  }
}

TEST(Abi, ModelFileConfigQueryThenCopy) {
  const std::string path = fixture("valid_flow.h5");
  size_t len = 0;
  ASSERT_EQ(gml_model_file_config(path.c_str(), nullptr, 0, &len), GML_OK);
  std::vector<char> buf(len);
  ASSERT_EQ(gml_model_file_config(path.c_str(), buf.data(), buf.size(), &len), GML_OK);
  EXPECT_STREQ(buf.data(), R"({"data_dim":2,"cond_dim":1})");
  EXPECT_EQ(gml_model_file_config(path.c_str(), buf.data(), 3, &len), GML_ERR_CAPACITY);
}

TEST(Abi, MpiBackendMissingModuleIsBackendError) {
  // Runs in its own process under ctest, so pointing the loader at a missing
  // module here does not affect other tests.
  setenv("GML_MPI_MODULE", "/nonexistent/libgalaxyml_mpi.so", 1);
  gml_context_options o;
  gml_context_options_default(&o);
  o.device = "cpu";
  o.backend = "mpi";
  gml_context* ctx = nullptr;
  EXPECT_EQ(gml_context_create(&o, &ctx), GML_ERR_BACKEND);
  EXPECT_NE(std::string(gml_last_error()).find("libgalaxyml_mpi.so"), std::string::npos);
  EXPECT_EQ(ctx, nullptr);
  unsetenv("GML_MPI_MODULE");
}

// Handles used after gml_*_free, freed twice, or passed as another type
// (models: AbiArgumentsFlow.FreedModelIsRefused):
// each is refused with an argument error (or ignored by *_free) instead of
// crashing the host or deadlocking in freed memory. Bindings with finalizers
// meet these first.
TEST(Abi, FreedDoubleFreedAndMistypedHandlesAreRefused) {
  gml_context* ctx = cpu_context();
  ASSERT_NE(ctx, nullptr);
  gml_catalog* cat = nullptr;
  const std::string sdss = std::string(GML_TEST_DATA) + "/sdss/gst_tests_small.fits";
  ASSERT_EQ(gml_catalog_open(sdss.c_str(), nullptr, &cat), GML_OK) << gml_last_error();
  gml_table_writer* w = nullptr;
  const std::string out = ::testing::TempDir() + "gml_handles_" +
                          std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                          ".fits";
  ASSERT_EQ(gml_table_writer_create(out.c_str(), nullptr, &w), GML_OK) << gml_last_error();

  // A handle of one type passed as another names both types.
  double scale = 0;
  EXPECT_EQ(gml_wcs_pixel_scale(reinterpret_cast<gml_wcs*>(cat), &scale), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("gml_catalog, not a gml_wcs"), std::string::npos)
      << gml_last_error();
  int64_t rows = 0;
  EXPECT_EQ(gml_catalog_num_rows(reinterpret_cast<gml_catalog*>(w), &rows),
            GML_ERR_INVALID_ARGUMENT);
  gml_model_free(reinterpret_cast<gml_model*>(ctx));  // ignored: not a model
  ASSERT_EQ(gml_cancel(ctx), GML_OK);                 // the context is alive

  size_t len = 0;
  gml_catalog_free(cat);
  gml_catalog_free(cat);
  EXPECT_EQ(gml_catalog_num_rows(cat, &rows), GML_ERR_INVALID_ARGUMENT);
  gml_table_writer_free(w);
  gml_table_writer_free(w);
  EXPECT_EQ(gml_table_writer_commit(w), GML_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gml_table_writer_num_rows(w, &rows), GML_ERR_INVALID_ARGUMENT);

  gml_context_free(ctx);
  gml_context_free(ctx);
  EXPECT_EQ(gml_cancel(ctx), GML_ERR_INVALID_ARGUMENT);
  char device[32];
  EXPECT_EQ(gml_context_device(ctx, device, sizeof device, &len), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("not a live gml_context"), std::string::npos)
      << gml_last_error();
  std::remove(out.c_str());
}
