// FitsFile: opening (extended syntax, gzip, memory), HDU navigation, atomic
// creation, and robustness against truncated or corrupted files.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/table.h"
#include "fits_io/temp_path.h"
#include "fits_io/wcs.h"
#include "test_util.h"

namespace gml::fits {
namespace {

using test::Contains;

TEST(FitsFile, MissingFileNamesPathAndCfitsioReason) {
  try {
    FitsFile::open("/no/such/dir/cat.fits");
    FAIL();
  } catch (const FitsError& e) {
    EXPECT_EQ(e.status(), FILE_NOT_OPENED);
    EXPECT_TRUE(Contains(e.what(), "/no/such/dir/cat.fits"));
    EXPECT_TRUE(Contains(e.what(), "open"));
    EXPECT_TRUE(Contains(e.what(), "could not open"));  // CFITSIO's own text
  }
  EXPECT_THROW(FitsFile::open(""), std::invalid_argument);
}

TEST(FitsFile, HduNavigationAndExtendedSyntax) {
  const std::string cat = test::data_path("sdss/gst_tests_small.fits");
  FitsFile f = FitsFile::open(cat);
  EXPECT_EQ(f.num_hdus(), 2);
  EXPECT_EQ(f.current_hdu(), 1);
  EXPECT_EQ(f.hdu_type(), HduType::Image);
  EXPECT_EQ(f.move_to("gsttest"), HduType::BinaryTable);
  EXPECT_EQ(f.current_hdu(), 2);
  try {
    f.move_to("PHOTOMETRY");
    FAIL();
  } catch (const FitsError& e) {
    EXPECT_TRUE(Contains(e.what(), "PHOTOMETRY"));
    EXPECT_TRUE(Contains(e.what(), "2:GSTTEST"));  // lists what exists
  }
  EXPECT_EQ(f.current_hdu(), 2);  // a failed move leaves the position alone
  EXPECT_THROW(f.move_to(3), FitsError);
  EXPECT_THROW(f.move_to(0), std::invalid_argument);

  // Row and column filters of the extended syntax reach the table reader.
  FitsFile g = FitsFile::open(cat + "[GSTTEST][col RA;DEC][#row <= 10]");
  Table t(g);
  EXPECT_EQ(t.ncols(), 2);
  EXPECT_EQ(t.nrows(), 10);
}

// A file whose name holds extended-syntax characters opens as that file; the
// same characters after an existing name still select HDUs and rows.
TEST(FitsFile, NamesWithExtendedSyntaxCharactersOpenAsFiles) {
  const std::string cat = test::data_path("sdss/gst_tests_small.fits");
  const std::string dir = ::testing::TempDir() + "gml_bracket_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string odd = dir + "/run[1](a).fits";
  std::filesystem::copy_file(cat, odd, std::filesystem::copy_options::overwrite_existing);
  {
    FitsFile f = FitsFile::open(odd);
    EXPECT_EQ(f.num_hdus(), 2);
    EXPECT_EQ(f.current_hdu(), 1);
    EXPECT_EQ(f.move_to("gsttest"), HduType::BinaryTable);
  }
  {
    FitsFile w = FitsFile::create(dir + "/out[2].fits");
    const std::vector<float> pixels(6, 1.0f);
    write_image(w, {3, 2}, pixels.data());
    w.commit();
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/out[2].fits"));
  {
    FitsFile r = FitsFile::open(dir + "/out[2].fits");
    EXPECT_EQ(read_image_f32(r), std::vector<float>(6, 1.0f));
  }
  FitsFile g = FitsFile::open(cat + "[GSTTEST][#row <= 3]");
  EXPECT_EQ(Table(g).nrows(), 3);
  std::filesystem::remove_all(dir);
}

// Temporaries of writes that were killed are removed by the next write of
// the same output, once their process is gone and they are old; those of a
// running process, or recent ones, are kept.
TEST(FitsFile, StaleTemporariesOfKilledWritesAreRemoved) {
  namespace fs = std::filesystem;
  const fs::path dir = ::testing::TempDir() + "gml_stale_" + std::to_string(::getpid());
  fs::create_directories(dir);
  const std::string out = (dir / "cat.fits").string();
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // a pid that no longer runs
  const std::string dead_old = out + ".tmp." + std::to_string(child) + ".3";
  const std::string dead_young = out + ".tmp." + std::to_string(child) + ".4";
  const std::string alive_old = out + ".tmp." + std::to_string(::getpid()) + ".99";
  const std::string other = out + ".tmp.notapid.1";
  for (const std::string& p : {dead_old, dead_young, alive_old, other}) {
    test::write_bytes(p, "x", 1);
  }
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  for (const std::string& p : {dead_old, alive_old, other}) fs::last_write_time(p, old);
  {
    FitsFile w = FitsFile::create(out);
    const std::vector<float> pixels(4, 2.0f);
    write_image(w, {2, 2}, pixels.data());
    w.commit();
  }
  EXPECT_FALSE(fs::exists(dead_old));
  EXPECT_TRUE(fs::exists(dead_young));
  EXPECT_TRUE(fs::exists(alive_old));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_EQ(remove_stale_temps(out, 0.0), 1);  // the young one, once old enough
  EXPECT_TRUE(fs::exists(out));
  fs::remove_all(dir);
}

TEST(FitsFile, OpenFromMemory) {
  auto bytes = test::read_bytes(test::data_path("sdss/gst_tests_small.fits"));
  FitsFile f = FitsFile::open_memory(bytes.data(), bytes.size(), "gst in memory");
  f.move_to(2);
  Table t(f);
  EXPECT_EQ(t.nrows(), 10000);
  // A truncated buffer is refused at open, whether cut mid-record or at a
  // record boundary (which CFITSIO's memory driver would not notice).
  EXPECT_THROW(FitsFile::open_memory(bytes.data(), bytes.size() - 1000, "cut"), FitsError);
  try {
    FitsFile::open_memory(bytes.data(), bytes.size() - 2880, "cut");
    FAIL();
  } catch (const FitsError& e) {
    EXPECT_TRUE(Contains(e.what(), "truncated"));
  }
  std::vector<char> junk(5000, 'x');
  try {
    FitsFile::open_memory(junk.data(), junk.size(), "junk buffer");
    FAIL();
  } catch (const FitsError& e) {
    EXPECT_TRUE(Contains(e.what(), "junk buffer"));
  }
}

TEST(FitsFile, ChecksumDetectsCorruptedData) {
  test::ScratchDir dir;
  const std::string path = dir.file("c.fits");
  {
    FitsFile f = FitsFile::create(path);
    std::vector<float> img(100, 1.5f);
    write_image(f, {10, 10}, img.data());
    f.write_checksum();
    f.commit();
  }
  EXPECT_EQ(FitsFile::open(path).verify_checksum().data, ChecksumStatus::Valid);
  auto bytes = test::read_bytes(path);
  bytes[2880 + 17] ^= 0x01;  // one bit of pixel data
  test::write_bytes(path, bytes.data(), bytes.size());
  auto st = FitsFile::open(path).verify_checksum();
  EXPECT_EQ(st.data, ChecksumStatus::Invalid);
  EXPECT_FALSE(st.ok());
}

// A write that fails half-way must leave the previous good file intact and
// no temporary file behind.
TEST(FitsFile, FailedWriteKeepsOldFileAndLeavesNoTemp) {
  test::ScratchDir dir;
  const std::string path = dir.file("out.fits");
  std::vector<float> good(16, 42.0f);
  {
    FitsFile f = FitsFile::create(path);
    write_image(f, {4, 4}, good.data());
    f.commit();
  }
  const auto before = test::read_bytes(path);
  try {
    FitsFile f = FitsFile::create(path);
    std::vector<float> half(16, -1.0f);
    write_image(f, {4, 4}, half.data());
    throw std::runtime_error("simulated failure mid-write");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(test::read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.fits"});

  // A successful rewrite replaces the file in one step.
  {
    FitsFile f = FitsFile::create(path);
    std::vector<float> next(16, 7.0f);
    write_image(f, {4, 4}, next.data());
    EXPECT_EQ(test::read_bytes(path), before);  // not visible before commit
    f.commit();
    EXPECT_THROW(f.commit(), std::logic_error);
  }
  FitsFile r = FitsFile::open(path);
  EXPECT_EQ(read_image_f32(r)[0], 7.0f);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.fits"});

  // Moving an uncommitted file transfers the clean-up duty.
  {
    FitsFile a = FitsFile::create(dir.file("moved.fits"));
    FitsFile b = std::move(a);
    EXPECT_FALSE(a.is_open());
    EXPECT_TRUE(b.is_open());
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.fits"});
}

TEST(FitsFile, UnwritableOutputPathIsAClearError) {
  try {
    FitsFile::create("/nonexistent-dir/sub/out.fits");
    FAIL();
  } catch (const FitsError& e) {
    EXPECT_TRUE(Contains(e.what(), "/nonexistent-dir/sub/out.fits"));
    EXPECT_TRUE(Contains(e.what(), "create"));
  }
  test::ScratchDir dir;
  // Committing onto a path that is a directory fails in rename(); the
  // temporary file must still be cleaned up.
  std::filesystem::create_directory(dir.file("isdir.fits"));
  FitsFile f = FitsFile::create(dir.file("isdir.fits"));
  write_empty_primary(f);
  EXPECT_THROW(f.commit(), FitsError);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"isdir.fits"});
}

// Real files cut at many points: every read either succeeds on what is
// intact or throws FitsError. Nothing may crash or hang.
TEST(FitsFile, TruncatedFilesThrowFitsError) {
  test::ScratchDir dir;
  const auto table = test::read_bytes(test::data_path("sdss/gst_tests_small.fits"));
  const auto image = test::read_bytes(test::data_path("wcs/tpv.fits"));
  const std::string path = dir.file("cut.fits");
  for (size_t cut : {size_t{0}, size_t{100}, size_t{2880}, size_t{5000}, size_t{8640},
                     table.size() / 2, table.size() - 1}) {
    SCOPED_TRACE(cut);
    test::write_bytes(path, table.data(), cut);
    EXPECT_THROW(
        {
          FitsFile f = FitsFile::open(path);
          f.move_to(2);
          Table t(f);
          std::vector<float> v(static_cast<size_t>(t.nrows()) * 5);
          t.read_column("MODELFLUX", 0, t.nrows(), v.data());
        },
        FitsError);
  }
  for (size_t cut : {size_t{1000}, size_t{2880 * 2}, image.size() / 2, image.size() - 2880}) {
    SCOPED_TRACE(cut);
    test::write_bytes(path, image.data(), cut);
    EXPECT_THROW(
        {
          FitsFile f = FitsFile::open(path);
          read_image_f32(f);
        },
        FitsError);
  }
}

TEST(FitsFile, CorruptedHeaderBytesThrow) {
  test::ScratchDir dir;
  const std::string path = dir.file("bad.fits");
  const auto orig = test::read_bytes(test::data_path("wcs/1904-66_TAN.fits"));
  auto card_of = [&](const char* key) {
    for (size_t i = 0; i < 2880 * 4; i += 80) {
      if (std::strncmp(orig.data() + i, key, std::strlen(key)) == 0) return i;
    }
    return std::string::npos;
  };
  struct Damage {
    const char* key;
    const char* replacement;  // written over the card's value field
  };
  for (Damage d :
       {Damage{"SIMPLE", "= Q"}, Damage{"BITPIX", "=                   17"},
        Damage{"NAXIS1", "=                -192"}, Damage{"NAXIS ", "=                 1000"}}) {
    SCOPED_TRACE(d.key);
    auto bytes = orig;
    size_t at = card_of(d.key);
    ASSERT_NE(at, std::string::npos);
    std::memcpy(bytes.data() + at + 8, d.replacement, std::strlen(d.replacement));
    test::write_bytes(path, bytes.data(), bytes.size());
    EXPECT_THROW(
        {
          FitsFile f = FitsFile::open(path);
          read_image_f32(f);
        },
        FitsError);
  }
  // Binary garbage in WCS cards reaches WCSLIB as a header string; it must
  // fail cleanly as WcsError (or parse) but never crash.
  auto bytes = orig;
  size_t at = card_of("CTYPE1");
  ASSERT_NE(at, std::string::npos);
  for (size_t i = 10; i < 30; ++i) bytes[at + i] = static_cast<char>(0x80 + i);
  std::string hdr(bytes.data(), 2880 * 2);
  EXPECT_THROW(Wcs{hdr}, WcsError);
}

}  // namespace
}  // namespace gml::fits
