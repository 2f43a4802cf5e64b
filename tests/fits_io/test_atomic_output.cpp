// AtomicOutput: the temporary file next to the target, the rename on commit,
// and what is left behind when a write fails or is abandoned.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

#include "fits_io/atomic_output.h"
#include "test_util.h"

namespace gml::fits {
namespace {

namespace fs = std::filesystem;
using test::Contains;

class AtomicOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("gml_atomic_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  static std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  int entries() const {
    return static_cast<int>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }

  fs::path dir_;
};

TEST_F(AtomicOutputTest, TemporaryIsNextToTheTargetAndCommitReplacesIt) {
  const std::string target = path("cat.fits");
  write_text(target, "old");
  AtomicOutput out(target);
  EXPECT_TRUE(out.pending());
  EXPECT_EQ(out.target(), target);
  EXPECT_EQ(fs::path(out.temp_path()).parent_path(), dir_);
  EXPECT_EQ(out.temp_path().rfind(target + ".tmp." + std::to_string(::getpid()) + ".", 0), 0u);
  EXPECT_FALSE(fs::exists(out.temp_path()));  // the writer creates it
  const std::string tmp = out.temp_path();
  write_text(tmp, "new");
  EXPECT_EQ(read_text(target), "old");  // nothing visible before commit
  out.commit();
  EXPECT_FALSE(out.pending());
  EXPECT_EQ(read_text(target), "new");
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(entries(), 1);
  EXPECT_THROW(out.commit(), std::logic_error);
}

TEST_F(AtomicOutputTest, AbandonedWriteRemovesTemporaryAndKeepsTarget) {
  const std::string target = path("model.h5");
  write_text(target, "old");
  std::string tmp;
  try {
    AtomicOutput out(target);
    tmp = out.temp_path();
    write_text(tmp, "half");
    throw std::runtime_error("writer failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(read_text(target), "old");
  EXPECT_EQ(entries(), 1);

  AtomicOutput out(target);
  write_text(out.temp_path(), "half");
  out.discard();
  EXPECT_FALSE(out.pending());
  EXPECT_EQ(entries(), 1);
}

TEST_F(AtomicOutputTest, FailedRenameRemovesTemporaryAndKeepsTarget) {
  // A directory at the target cannot be replaced by a file.
  const std::string target = path("samples.h5");
  fs::create_directories(target);
  write_text(target + "/keep", "kept");
  AtomicOutput out(target);
  const std::string tmp = out.temp_path();
  write_text(tmp, "new");
  try {
    out.commit();
    FAIL() << "rename over a directory succeeded";
  } catch (const std::system_error& e) {
    EXPECT_NE(e.code().value(), 0);
    EXPECT_TRUE(Contains(e.what(), tmp));
    EXPECT_TRUE(Contains(e.what(), target));
  }
  EXPECT_FALSE(out.pending());
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(read_text(target + "/keep"), "kept");
}

TEST_F(AtomicOutputTest, MovedOutputOwnsTheTemporary) {
  const std::string target = path("t.fits");
  AtomicOutput a(target);
  const std::string tmp = a.temp_path();
  write_text(tmp, "x");
  AtomicOutput b(std::move(a));
  EXPECT_FALSE(a.pending());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_TRUE(b.pending());
  { AtomicOutput gone(std::move(b)); }
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_THROW(AtomicOutput(""), std::invalid_argument);
}

}  // namespace
}  // namespace gml::fits
