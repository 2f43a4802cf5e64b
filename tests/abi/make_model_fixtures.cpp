// Writes the model files the ABI tests read: one valid file and one file for
// each way a model file can be wrong.
#include <hdf5.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/common/model_file.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_model_fixtures OUTDIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  torch::manual_seed(1);
  gml::ModelFile m;
  m.family = "flow";
  m.config = R"({"data_dim":2,"cond_dim":1})";
  m.tensors["w"] = torch::randn({16, 8});
  m.tensors["b"] = torch::randn({16});
  m.normalization["mean"] = torch::zeros({2});
  gml::write_model_file((dir / "valid_flow.h5").string(), m);
  fs::copy_file(dir / "valid_flow.h5", dir / "newer_version.h5",
                fs::copy_options::overwrite_existing);
  {
    hid_t f = H5Fopen((dir / "newer_version.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, "gml_format_version", H5P_DEFAULT);
    int32_t v = gml::kModelFormatVersion + 1;
    H5Awrite(a, H5T_NATIVE_INT32, &v);
    H5Aclose(a);
    H5Fclose(f);
  }
  fs::copy_file(dir / "valid_flow.h5", dir / "truncated.h5", fs::copy_options::overwrite_existing);
  fs::resize_file(dir / "truncated.h5", fs::file_size(dir / "valid_flow.h5") / 2);

  gml::ModelFile bad = m;
  bad.tensors["w"] = torch::full({16, 8}, 1.0f);
  gml::write_model_file((dir / "bad_checksum.h5").string(), bad);
  {
    std::fstream f((dir / "bad_checksum.h5").string(),
                   std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    auto pos = bytes.find(std::string("\x00\x00\x80\x3f\x00\x00\x80\x3f", 8));
    if (pos == std::string::npos) return 1;
    f.seekp(static_cast<std::streamoff>(pos + 2));
    f.put('\x81');
  }
  std::ofstream((dir / "not_hdf5.h5").string()) << "plain text, not HDF5\n";
  return 0;
}
