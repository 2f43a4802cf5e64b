// Model files: bit-exact round trips, and a distinct error for each way a
// file can be wrong.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/common/error.h"
#include "core/common/model_file.h"
#include "core/common/module_io.h"

namespace fs = std::filesystem;
using gml::ModelFile;
using gml::Status;

namespace {

fs::path temp_dir() {
  fs::path d =
      fs::temp_directory_path() / ("gml_model_file_" + std::to_string(::getpid()) + "_" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

ModelFile sample_model() {
  torch::manual_seed(7);
  ModelFile m;
  m.family = "flow";
  m.config = R"({"blocks":14,"bins":10})";
  m.provenance = R"({"data":"synthetic","command":"gml-flow train"})";
  m.tensors["blocks.0.coupling.net.0.weight"] = torch::randn({128, 5});
  m.tensors["blocks.0.lu.sign"] = torch::tensor({1.0, -1.0, 1.0}, torch::kDouble);
  m.tensors["blocks.0.lu.perm"] = torch::tensor({2, 0, 1}, torch::kLong);
  m.tensors["scalar"] = torch::tensor(3.5f);
  m.tensors["empty"] = torch::empty({0, 4});
  m.normalization["x.mean"] = torch::randn({10});
  m.normalization["x.log_columns"] = torch::tensor({true, false, true});
  m.extra["vocab"] = torch::arange(0, 255, torch::kByte);
  return m;
}

Status status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gml::Error& e) {
    return e.status();
  }
  return Status::Ok;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gml::Error& e) {
    return e.what();
  }
  return "";
}

// Rewrites one root attribute in place, as another tool or version would.
void set_attr(const fs::path& p, const char* name, const std::string& value) {
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Adelete(f, name);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, value.size());
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(f, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, t, value.data());
  H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
  H5Fclose(f);
}

void set_int_attr(const fs::path& p, const char* name, int32_t v) {
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT32, &v);
  H5Aclose(a);
  H5Fclose(f);
}

}  // namespace

TEST(ModelFile, RoundTripIsBitExact) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  EXPECT_EQ(m.checksum.rfind("fnv1a64:", 0), 0u);
  EXPECT_FALSE(m.created.empty());

  ModelFile r = gml::read_model_file((dir / "m.h5").string(), "flow");
  EXPECT_EQ(r.family, "flow");
  EXPECT_EQ(r.format_version, gml::kModelFormatVersion);
  EXPECT_EQ(r.config, m.config);
  EXPECT_EQ(r.provenance, m.provenance);
  EXPECT_EQ(r.checksum, m.checksum);
  EXPECT_EQ(r.created, m.created);
  for (auto group : {&ModelFile::tensors, &ModelFile::normalization, &ModelFile::extra}) {
    const auto& a = m.*group;
    const auto& b = r.*group;
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a) {
      ASSERT_TRUE(b.count(name)) << name;
      at::Tensor want = t.scalar_type() == at::kBool ? t.to(at::kByte) : t;
      const at::Tensor& got = b.at(name);
      EXPECT_EQ(got.scalar_type(), want.scalar_type()) << name;
      EXPECT_EQ(got.sizes(), want.sizes()) << name;
      // Bit-exact: compare raw bytes, not values (NaN-safe, -0.0-safe).
      ASSERT_EQ(got.numel() * got.element_size(), want.numel() * want.element_size());
      if (got.numel() > 0) {
        EXPECT_EQ(0, std::memcmp(got.data_ptr(), want.contiguous().data_ptr(),
                                 got.numel() * got.element_size()))
            << name;
      }
    }
  }
}

TEST(ModelFile, ChecksumCoversNamesAndShapes) {
  ModelFile a = sample_model();
  ModelFile b = sample_model();
  EXPECT_EQ(gml::model_checksum(a), gml::model_checksum(b));
  b.tensors["scalar"] = torch::tensor(3.5000002f);
  EXPECT_NE(gml::model_checksum(a), gml::model_checksum(b));
  ModelFile c = sample_model();
  c.tensors["blocks.0.coupling.net.0.weight"] =
      a.tensors["blocks.0.coupling.net.0.weight"].reshape({5, 128});
  EXPECT_NE(gml::model_checksum(a), gml::model_checksum(c));
}

TEST(ModelFile, WrongFamilyIsFamilyError) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "m.h5").string(), "posterior"); }),
            Status::Family);
  EXPECT_NE(message_of([&] {
              gml::read_model_file((dir / "m.h5").string(), "posterior");
            }).find("'flow' model"),
            std::string::npos);
}

TEST(ModelFile, NewerFormatIsVersionError) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  set_int_attr(dir / "m.h5", "gml_format_version", gml::kModelFormatVersion + 1);
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "m.h5").string()); }), Status::Version);
}

TEST(ModelFile, TruncatedFileIsFormatError) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  const auto size = fs::file_size(dir / "m.h5");
  for (auto keep : {size / 2, size - 100, uintmax_t{1000}, uintmax_t{10}}) {
    fs::copy_file(dir / "m.h5", dir / "t.h5", fs::copy_options::overwrite_existing);
    fs::resize_file(dir / "t.h5", keep);
    EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "t.h5").string()); }), Status::Format)
        << "kept " << keep << " of " << size << " bytes";
  }
}

TEST(ModelFile, FlippedTensorByteIsChecksumError) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  m.tensors.clear();
  m.tensors["w"] = torch::full({4096}, 1.0f);  // 0x3f800000 repeated: easy to find
  gml::write_model_file((dir / "m.h5").string(), m);
  std::fstream f((dir / "m.h5").string(), std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  const std::string one("\x00\x00\x80\x3f\x00\x00\x80\x3f", 8);
  auto pos = bytes.find(one);
  ASSERT_NE(pos, std::string::npos);
  f.seekp(static_cast<std::streamoff>(pos + 2));
  f.put('\x81');  // 1.0f -> 1.0078125f
  f.close();
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "m.h5").string()); }), Status::Checksum);
}

TEST(ModelFile, EditedChecksumAttributeIsChecksumError) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  set_attr(dir / "m.h5", "checksum", "fnv1a64:0000000000000000");
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "m.h5").string()); }), Status::Checksum);
}

// Version 2 covers the attributes: a damaged config used to pass the
// checksum and let loading allocate what it claimed.
TEST(ModelFile, EditedAttributesAreChecksumErrors) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  set_attr(dir / "m.h5", "config", R"({"hidden_width": 1000000000})");
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "m.h5").string()); }), Status::Checksum);
  gml::write_model_file((dir / "m.h5").string(), m);
  set_attr(dir / "m.h5", "provenance", R"({"data": "other.h5"})");
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "m.h5").string()); }), Status::Checksum);
  gml::write_model_file((dir / "m.h5").string(), m);
  set_attr(dir / "m.h5", "gml_library_version", "9.9.9");
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "m.h5").string()); }), Status::Checksum);
}

// Files of version 1 (tensor-only checksum) still load.
TEST(ModelFile, VersionOneFilesStillRead) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  ModelFile v1 = m;
  v1.format_version = 1;
  const std::string v1_sum = gml::model_checksum(v1);
  EXPECT_NE(v1_sum, m.checksum);
  set_int_attr(dir / "m.h5", "gml_format_version", 1);
  set_attr(dir / "m.h5", "checksum", v1_sum);
  ModelFile r = gml::read_model_file((dir / "m.h5").string());
  EXPECT_EQ(r.format_version, 1);
  EXPECT_EQ(r.checksum, v1_sum);
}

TEST(ModelFile, MissingNotHdf5AndMissingAttributes) {
  auto dir = temp_dir();
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "absent.h5").string()); }), Status::Io);
  std::ofstream((dir / "text.h5").string()) << "not an HDF5 file\n";
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "text.h5").string()); }), Status::Format);
  // An HDF5 file that is not a galaxyml model.
  hid_t f = H5Fcreate((dir / "plain.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(f);
  EXPECT_EQ(status_of([&] { gml::read_model_file((dir / "plain.h5").string()); }), Status::Format);
  EXPECT_NE(
      message_of([&] { gml::read_model_file((dir / "plain.h5").string()); }).find("gml_family"),
      std::string::npos);
}

TEST(ModelFile, FailedWriteKeepsOldFileAndLeavesNoTemporary) {
  auto dir = temp_dir();
  ModelFile good = sample_model();
  gml::write_model_file((dir / "m.h5").string(), good);
  const auto before = fs::file_size(dir / "m.h5");

  ModelFile bad = sample_model();
  bad.tensors["complex"] = torch::zeros({2}, torch::kComplexFloat);  // unsupported dtype
  EXPECT_EQ(status_of([&] { gml::write_model_file((dir / "m.h5").string(), bad); }),
            Status::InvalidArgument);
  EXPECT_EQ(fs::file_size(dir / "m.h5"), before);
  EXPECT_EQ(gml::read_model_file((dir / "m.h5").string()).checksum, good.checksum);
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir)) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1) << "a temporary file was left behind";
}

TEST(ModelFile, UnwritableDirectoryIsIoError) {
  ModelFile m = sample_model();
  EXPECT_EQ(status_of([&] { gml::write_model_file("/nonexistent-dir/m.h5", m); }), Status::Io);
}

TEST(ModelFile, InvalidNamesAreRejected) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  m.tensors["a/b"] = torch::zeros({1});
  EXPECT_EQ(status_of([&] { gml::write_model_file((dir / "m.h5").string(), m); }),
            Status::InvalidArgument);
  ModelFile n = sample_model();
  n.family = "";
  EXPECT_EQ(status_of([&] { gml::write_model_file((dir / "m.h5").string(), n); }),
            Status::InvalidArgument);
}

// H5Aread copies every element of an attribute; the readers hold one. An
// array attribute (as h5py writes for a list) must be refused before it is
// read, not overflow the reader's buffer (found by fuzz_model_file).
TEST(ModelFile, ArrayAttributesAreFormatErrors) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  hid_t f = H5Fopen((dir / "m.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Adelete(f, "gml_format_version");
  const hsize_t four = 4;
  const int32_t versions[4] = {2, 2, 2, 2};
  hid_t s = H5Screate_simple(1, &four, nullptr);
  hid_t a = H5Acreate2(f, "gml_format_version", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT32, versions);
  H5Aclose(a);
  H5Sclose(s);
  H5Fclose(f);
  const std::string path = (dir / "m.h5").string();
  EXPECT_EQ(status_of([&] { gml::read_model_file(path); }), Status::Format);
  EXPECT_NE(message_of([&] { gml::read_model_file(path); }).find("must hold one value, not 4"),
            std::string::npos);
}

TEST(ModelFile, FuzzerReproducersAreFormatErrors) {
  // Array-valued string attributes (fixed and variable length), an int32
  // array version, and a dataset declaring 2^40 elements the file does not
  // store: each used to overflow a buffer or allocate what it claimed.
  for (const char* name :
       {"model_attribute_array_fixed_string.h5", "model_attribute_array_vlen_string.h5",
        "model_attribute_array_int32.h5", "model_dataset_declared_shape_4tb.h5"}) {
    const std::string path = std::string(GML_FUZZ_FINDINGS) + "/" + name;
    ASSERT_TRUE(fs::exists(path)) << path;
    EXPECT_EQ(status_of([&] { gml::read_model_file(path); }), Status::Format) << name;
  }
  EXPECT_NE(message_of([&] {
              gml::read_model_file(std::string(GML_FUZZ_FINDINGS) +
                                   "/model_dataset_declared_shape_4tb.h5");
            }).find("declares 4398046511104 bytes but the file stores 0"),
            std::string::npos);
}

// A dataset without a dataspace used to be read as a scalar whose element
// was never written.
TEST(ModelFile, NullDataspaceIsFormatError) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  hid_t f = H5Fopen((dir / "m.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t s = H5Screate(H5S_NULL);
  hid_t d =
      H5Dcreate2(f, "/tensors/nothing", H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(d, 0);
  H5Dclose(d);
  H5Sclose(s);
  H5Fclose(f);
  const std::string path = (dir / "m.h5").string();
  EXPECT_EQ(status_of([&] { gml::read_model_file(path); }), Status::Format);
  EXPECT_NE(message_of([&] { gml::read_model_file(path); }).find("has no dataspace"),
            std::string::npos);
}

// A zero extent holds no element, yet a tensor's strides multiply the other
// extents: {0, 2^62, 2^62} passed the storage check and threw c10::Error
// "Stride calculation overflowed" from at::empty (fuzz_model_file).
TEST(ModelFile, ZeroExtentWithHugeExtentsIsFormatError) {
  auto dir = temp_dir();
  ModelFile m = sample_model();
  gml::write_model_file((dir / "m.h5").string(), m);
  hid_t f = H5Fopen((dir / "m.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hsize_t dims[3] = {0, hsize_t{1} << 62, hsize_t{1} << 62};
  hid_t s = H5Screate_simple(3, dims, nullptr);
  ASSERT_GE(s, 0);
  hid_t d = H5Dcreate2(f, "/tensors/no_elements", H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT,
                       H5P_DEFAULT);
  ASSERT_GE(d, 0);
  H5Dclose(d);
  H5Sclose(s);
  H5Fclose(f);
  const std::string path = (dir / "m.h5").string();
  EXPECT_EQ(status_of([&] { gml::read_model_file(path); }), Status::Format);
  EXPECT_NE(message_of([&] { gml::read_model_file(path); }).find("declares an impossible size"),
            std::string::npos);
}

namespace {
struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl() {
    fc = register_module("fc", torch::nn::Linear(3, 2));
    scale = register_buffer("scale", torch::ones({2}));
  }
  torch::nn::Linear fc{nullptr};
  torch::Tensor scale;
};
TORCH_MODULE(TinyNet);
}  // namespace

TEST(ModuleIo, StoreAndLoadUseModuleTreeNames) {
  auto dir = temp_dir();
  TinyNet a;
  a->scale.fill_(2.5);
  ModelFile m;
  m.family = "flow";
  gml::store_module(*a, m);
  EXPECT_TRUE(m.tensors.count("fc.weight"));
  EXPECT_TRUE(m.tensors.count("fc.bias"));
  EXPECT_TRUE(m.tensors.count("scale"));
  gml::write_model_file((dir / "m.h5").string(), m);

  TinyNet b;
  gml::load_module(*b, gml::read_model_file((dir / "m.h5").string(), "flow"));
  EXPECT_TRUE(torch::equal(a->fc->weight, b->fc->weight));
  EXPECT_TRUE(torch::equal(b->scale, torch::full({2}, 2.5)));

  m.tensors["fc.weight"] = torch::zeros({4, 3});
  EXPECT_EQ(status_of([&] { gml::load_module(*b, m); }), Status::Format);
  m.tensors["fc.weight"] = a->fc->weight.detach();
  m.tensors["unexpected"] = torch::zeros({1});
  EXPECT_EQ(status_of([&] { gml::load_module(*b, m); }), Status::Format);
}
