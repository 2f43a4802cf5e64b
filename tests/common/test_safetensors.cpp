// The safetensors reader against a file written by the reference
// implementation (tests/golden/make_safetensors_golden.py), and every kind
// of damaged file refused with its own message.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/common/safetensors.h"

namespace gml {
namespace {

const std::string kDir = std::string(GML_GOLDEN) + "/common/";

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A file of `header` (JSON text) and `data` bytes, as the format lays out.
std::string write_file(const std::string& name, const std::string& header, const std::string& data,
                       int64_t declared = -1) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint64_t n = declared >= 0 ? static_cast<uint64_t>(declared) : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header << data;
  return path;
}

void expect_refused(const std::string& path, Status status, const std::string& part) {
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(Safetensors, ReadsEveryDtypeAsTheReferenceWroteIt) {
  const SafetensorsFile f = SafetensorsFile::open(kDir + "tiny.safetensors");
  std::ifstream in(kDir + "tiny_safetensors.json");
  const nlohmann::json want = nlohmann::json::parse(in);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.metadata().at("producer"), "make_safetensors_golden.py");
  ASSERT_EQ(f.names().size(), want.at("tensors").size());
  for (const auto& [name, w] : want.at("tensors").items()) {
    SCOPED_TRACE(name);
    const at::Tensor t = f.read(name);
    EXPECT_EQ(t.sizes().vec(), w.at("shape").get<std::vector<int64_t>>());
    const std::string dtype = w.at("dtype");
    const std::string got = std::string(c10::toString(t.scalar_type()));
    // torch's names ("float16") against c10's ("Half").
    const std::map<std::string, std::string> c10_name = {
        {"float32", "Float"}, {"float16", "Half"}, {"bfloat16", "BFloat16"}, {"float64", "Double"},
        {"int64", "Long"},    {"int32", "Int"},    {"int16", "Short"},       {"int8", "Char"},
        {"uint8", "Byte"},    {"bool", "Bool"}};
    EXPECT_EQ(got, c10_name.at(dtype));
    const at::Tensor expected =
        at::tensor(w.at("values").get<std::vector<double>>(), at::kDouble).reshape(t.sizes());
    EXPECT_TRUE(at::equal(t.to(at::kDouble), expected));
  }
  EXPECT_TRUE(f.contains("unet.conv_in.weight"));
  try {
    f.read("no.such.tensor");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::NotFound);
    EXPECT_NE(std::string(e.what()).find("no.such.tensor"), std::string::npos);
  }
}

TEST(Safetensors, ReadsIntoATargetOnlyOfItsDtypeShapeAndLayout) {
  const SafetensorsFile f = SafetensorsFile::open(kDir + "tiny.safetensors");
  const std::string name = "unet.conv_in.weight";
  const at::Tensor want = f.read(name);
  ASSERT_EQ(want.scalar_type(), at::kFloat);
  at::Tensor target = at::full(want.sizes(), -7.0f);
  EXPECT_TRUE(f.read_into(name, target));
  EXPECT_TRUE(at::equal(target, want));
  // Anything it cannot fill byte for byte is left alone for the caller to
  // convert.
  const at::Tensor untouched = at::full(want.sizes(), -7.0f);
  at::Tensor as_double = untouched.to(at::kDouble);
  EXPECT_FALSE(f.read_into(name, as_double));
  EXPECT_TRUE(at::equal(as_double, untouched.to(at::kDouble)));
  at::Tensor flat = untouched.reshape({-1}).clone();
  EXPECT_FALSE(f.read_into(name, flat));
  EXPECT_TRUE(at::equal(flat, untouched.reshape({-1})));
  if (want.dim() >= 2 && want.size(0) > 1 && want.size(1) > 1) {
    at::Tensor strided = at::full(want.transpose(0, 1).sizes(), -7.0f).transpose(0, 1);
    EXPECT_FALSE(f.read_into(name, strided));
    EXPECT_TRUE((strided == -7.0f).all().item<bool>());
  }
}

TEST(Safetensors, DamagedFilesAreRefusedNamingTheFault) {
  const std::string good = file_bytes(kDir + "tiny.safetensors");
  const std::string d8(8, '\0');  // two float32 values
  const auto one = [](const std::string& dtype, const std::string& shape, int b, int e) {
    return R"({"x":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":[)" +
           std::to_string(b) + "," + std::to_string(e) + "]}}";
  };

  expect_refused(write_file("empty_header.safetensors", "", "", 0), Status::Format,
                 "not plausible");
  {
    // The reference file cut inside its data.
    const std::string path = testing::TempDir() + "/truncated.safetensors";
    std::ofstream(path, std::ios::binary) << good.substr(0, good.size() - 10);
    expect_refused(path, Status::Format, "truncated?");
  }
  {
    const std::string path = testing::TempDir() + "/short.safetensors";
    std::ofstream(path, std::ios::binary) << good.substr(0, 5);
    expect_refused(path, Status::Format, "shorter than");
  }
  expect_refused(write_file("long_header.safetensors", one("F32", "[2]", 0, 8), d8, 1 << 20),
                 Status::Format, "past the end");
  expect_refused(write_file("not_json.safetensors", "{\"x\": [1, 2", ""), Status::Format,
                 "not valid JSON");
  expect_refused(write_file("array.safetensors", "[1, 2, 3]", ""), Status::Format,
                 "not a JSON object");
  expect_refused(write_file("dtype.safetensors", one("F8_E4M3", "[2]", 0, 2), "\0\0"),
                 Status::Format, "F8_E4M3 is not supported");
  expect_refused(write_file("size.safetensors", one("F32", "[3]", 0, 8), d8), Status::Format,
                 "need 12");
  expect_refused(write_file("range.safetensors", one("F32", "[2]", 4, 12), d8), Status::Format,
                 "outside the data area");
  expect_refused(write_file("gap.safetensors", one("F32", "[1]", 4, 8), d8), Status::Format, "gap");
  expect_refused(write_file("overlap.safetensors",
                            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                            d8),
                 Status::Format, "overlap");
  expect_refused(write_file("fields.safetensors", R"({"x":{"dtype":"F32"}})", ""), Status::Format,
                 "needs dtype, shape and data_offsets");
  expect_refused(write_file("negative.safetensors", one("F32", "[-2]", 0, 8), d8), Status::Format,
                 "not a size");
  expect_refused(write_file("huge.safetensors", one("F32", "[4611686018427387904, 4]", 0, 8), d8),
                 Status::Format, "too large");
  expect_refused(write_file("meta.safetensors", R"({"__metadata__":{"a":1}})", ""), Status::Format,
                 "not a string");
  expect_refused(testing::TempDir() + "/does_not_exist.safetensors", Status::Io, "cannot open");

  // Bytes other than 0 and 1 in a BOOL tensor are refused when read.
  const std::string path = write_file("bool.safetensors", one("BOOL", "[2]", 0, 2), "\x01\x07");
  const SafetensorsFile f = SafetensorsFile::open(path);
  try {
    f.read("x");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other than 0 and 1"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace gml
