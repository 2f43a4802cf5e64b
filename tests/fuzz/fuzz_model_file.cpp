// Fuzzes the reading of model files the way gml_model_load reads them:
// read_model_file (family, version, checksums, every dataset), then the
// family's loader (config JSON, config against tensors, the network built
// and filled, normalisation), then the move to the CPU. Every input must end
// in a loaded model or a gml::Error with a message; any other exception, a
// crash, a sanitizer report or an allocation above -malloc_limit_mb is a
// finding.
//
// The target is structure-aware: it edits attributes and datasets, not
// bytes. A byte flipped in an HDF5 file's metadata tests HDF5's own parser,
// whose bugs this project cannot fix (it uses the Debian library as
// shipped); a byte flipped in tensor data is caught by the checksum before
// any loader sees it. What the project can get wrong lies a level up: a config that passes
// validation but describes a network no file could hold, tensors of the wrong shape, dtype or name,
// NaN statistics, attributes of the wrong type, datasets that claim more elements than the file
// stores. Each input therefore decodes into
//   - one of five seed models (flow, MAF, autoregressive and coupling NSF
//     posteriors, merger), valid
//     files made by the families' own save functions at start-up;
//   - how the file is signed: after the edits with the library's checksums
//     (the "hand-made file" that only the loaders can refuse), before them
//     (a damaged file), or as a format-version-1 file, whose checksum does
//     not cover the config;
//   - whether the reader is told the family to expect;
//   - a list of edits: text attributes replaced, the config JSON mutated
//     (values swapped for huge, negative, fractional, non-finite or
//     wrongly typed ones, keys deleted or added), tensors deleted, renamed,
//     moved, added, reshaped, retyped or overwritten with NaN, infinities
//     or input bytes; and, through the HDF5 C API after the file is
//     written, attributes deleted or rewritten with another HDF5 type, the
//     format version set, datasets replaced by ones of unsupported types or
//     of huge declared shapes without storage, groups deleted, links and
//     subgroups planted where datasets belong.
#include <cxxabi.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/hdf5_handle.h"
#include "core/common/loaded_model.h"
#include "core/common/model_file.h"
#include "core/flow/conditional_flow.h"
#include "core/flow/flow_file.h"
#include "core/merger/merger_file.h"
#include "core/merger/merger_net.h"
#include "core/merger/merger_training.h"
#include "core/posterior/posterior_file.h"
#include "core/posterior/posterior_flow.h"

namespace {

using gml::ModelFile;
using gml::TensorMap;

// The families gml_model_load knows (capi/src/model_families.cpp).
const gml::ModelFamily* const kFamilies[] = {
    &gml::flow::kFlowFamily, &gml::posterior::kPosteriorFamily, &gml::merger::kMergerFamily};

// Edits stay small: the point is a file that claims much while holding
// little, and a large tensor only makes every input slower.
constexpr int64_t kMaxEditElements = 1 << 14;
constexpr size_t kMaxEdits = 16;
constexpr size_t kMaxText = 512;
// A replaced dataset is given storage only up to this size; beyond it the
// dataset keeps its declared shape and HDF5 allocates nothing, which is how
// a tiny file can claim terabytes.
constexpr uint64_t kMaxStoredBytes = 1 << 16;

enum class Signing {
  AfterEdits,   // valid checksums over the edited model: only the loaders can refuse it
  BeforeEdits,  // the seed's checksums, then edited: damage the reader must catch
  Version1,     // edited, then signed by the version-1 rule, which leaves config out
};

struct Seeds {
  std::string dir;
  std::string path;
  std::vector<ModelFile> models;  // flow, posterior MAF, NSF, coupling NSF, merger
  // GML_FUZZ_VERBOSE=1: say how each input ended, to tell what a corpus
  // file or a reproducer does.
  bool verbose = false;
};

Seeds& seeds() {
  static Seeds s;
  return s;
}

const char* const kGroupNames[] = {"tensors", "normalization", "extra"};

TensorMap& group_of(ModelFile& m, size_t g) {
  return g == 0 ? m.tensors : g == 1 ? m.normalization : m.extra;
}

const char* const kRootAttributes[] = {"gml_family", "gml_format_version", "gml_library_version",
                                       "config",     "checksum",           "created",
                                       "provenance", "metadata_checksum"};

// Every config key of every family, and one that none has: a key moved to
// the wrong family must be refused as unknown, not ignored.
const char* const kConfigKeys[] = {"data_dim",
                                   "condition_dim",
                                   "num_blocks",
                                   "num_bins",
                                   "tail_bound",
                                   "hidden_width",
                                   "hidden_layers",
                                   "leaky_relu_slope",
                                   "min_bin_width",
                                   "min_bin_height",
                                   "min_derivative",
                                   "log_columns",
                                   "condition_log_columns",
                                   "column_names",
                                   "condition_names",
                                   "estimator",
                                   "theta_dim",
                                   "x_dim",
                                   "made_blocks",
                                   "activation",
                                   "prior_lower",
                                   "prior_upper",
                                   "prior",
                                   "theta_names",
                                   "x_names",
                                   "observation",
                                   "backbone",
                                   "in_channels",
                                   "image_size",
                                   "n_classes",
                                   "time_max_myr",
                                   "regress_time",
                                   "fcae",
                                   "latent_dim",
                                   "vae_hidden",
                                   "dropout",
                                   "nan_policy",
                                   "cond_dim"};

// JSON value texts around the limits of the configs' checks, beyond the
// range of int64 and double, and of the wrong types. Some are not JSON at
// all (NaN, Infinity): the parser must refuse them, not the loader crash.
const char* const kJsonValues[] = {"0",
                                   "1",
                                   "-1",
                                   "2",
                                   "3",
                                   "4",
                                   "7",
                                   "16",
                                   "64",
                                   "65",
                                   "256",
                                   "257",
                                   "1024",
                                   "1025",
                                   "8192",
                                   "8193",
                                   "16384",
                                   "16385",
                                   "1000000",
                                   "2147483647",
                                   "2147483648",
                                   "4294967297",
                                   "9223372036854775807",
                                   "9223372036854775808",
                                   "-9223372036854775808",
                                   "-9223372036854775809",
                                   "18446744073709551615",
                                   "18446744073709551616",
                                   "1e18",
                                   "1e300",
                                   "-1e300",
                                   "1e999",
                                   "-1e999",
                                   "1e-320",
                                   "0.5",
                                   "2.5",
                                   "-0.0",
                                   "1.0",
                                   "0.999999999",
                                   "NaN",
                                   "Infinity",
                                   "true",
                                   "false",
                                   "null",
                                   "\"\"",
                                   "\"maf\"",
                                   "\"nsf\"",
                                   "\"relu\"",
                                   "\"tanh\"",
                                   "\"resnet18\"",
                                   "\"resnet50\"",
                                   "\"efficientnet_b0\"",
                                   "\"efficientnet_b4\"",
                                   "\"efficientnet_b9\"",
                                   "\"sed_ugriz\"",
                                   "\"mask\"",
                                   "\"reject\"",
                                   "[]",
                                   "[0]",
                                   "[-1]",
                                   "[0,0]",
                                   "[0,1,2]",
                                   "[1e300]",
                                   "[\"a\"]",
                                   "[[1]]",
                                   "{}",
                                   "{\"a\":1}"};

const at::ScalarType kDtypes[] = {at::kFloat, at::kDouble, at::kLong, at::kInt,
                                  at::kShort, at::kChar,   at::kByte, at::kBool};

const double kSpecialValues[] = {std::nan(""), HUGE_VAL, -HUGE_VAL, 0.0,     -0.0,   1.0,
                                 -1.0,         1e38,     -1e38,     1e300,   5e-324, 0.5,
                                 127.0,        255.0,    -128.0,    65536.0, 1e18,   -1e18};

// A tensor built from the input: never a view of a seed's tensor, so that
// edits cannot reach the seeds.
at::Tensor make_tensor(FuzzedDataProvider& in, at::ScalarType dtype,
                       const std::vector<int64_t>& shape) {
  at::Tensor t =
      at::zeros(shape, at::TensorOptions().dtype(dtype == at::kBool ? at::kByte : dtype));
  const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
  std::vector<uint8_t> raw = in.ConsumeBytes<uint8_t>(bytes);
  if (!raw.empty()) std::memcpy(t.data_ptr(), raw.data(), raw.size());
  if (dtype == at::kBool) t = (t.remainder(2) == 1);
  return t;
}

std::vector<int64_t> consume_shape(FuzzedDataProvider& in) {
  std::vector<int64_t> shape(in.ConsumeIntegralInRange<size_t>(0, 4));
  int64_t numel = 1;
  for (int64_t& d : shape) {
    d = in.ConsumeIntegralInRange<int64_t>(0, 40);
    numel *= d;
  }
  if (numel > kMaxEditElements) shape.assign(1, kMaxEditElements);
  return shape;
}

// A name from the input, or one the group already holds with a twist.
std::string consume_tensor_name(FuzzedDataProvider& in, const TensorMap& group) {
  if (!group.empty() && in.ConsumeBool()) {
    auto it = group.begin();
    std::advance(it, in.ConsumeIntegralInRange<size_t>(0, group.size() - 1));
    static const char* const kTwists[] = {"", ".0", "x", ".weight", ".bias"};
    return it->first + kTwists[in.ConsumeIntegralInRange<size_t>(0, 4)];
  }
  return in.ConsumeRandomLengthString(48);
}

TensorMap::iterator pick(FuzzedDataProvider& in, TensorMap& group) {
  if (group.empty()) return group.end();
  auto it = group.begin();
  std::advance(it, in.ConsumeIntegralInRange<size_t>(0, group.size() - 1));
  return it;
}

// Input strings need not be UTF-8; nlohmann would throw on dumping them.
std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string consume_json_value(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return std::to_string(in.ConsumeIntegral<int64_t>());
    case 1: {
      char text[64];
      std::snprintf(text, sizeof text, "%.17g", in.ConsumeFloatingPoint<double>());
      return text;
    }
    case 2: return dump(nlohmann::ordered_json(in.ConsumeRandomLengthString(32)));
    default: return kJsonValues[in.ConsumeIntegralInRange<size_t>(0, std::size(kJsonValues) - 1)];
  }
}

// Edits the config as JSON where it parses as an object; values are spliced
// in as text so that ones nlohmann would never write (1e999, NaN, integers
// beyond int64) reach the parser too. Otherwise edits the text itself.
void mutate_config(FuzzedDataProvider& in, std::string& config) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(config, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    const size_t at = in.ConsumeIntegralInRange<size_t>(0, config.size());
    config = config.substr(0, at) + consume_json_value(in) +
             config.substr(std::min(config.size(), at + in.ConsumeIntegralInRange<size_t>(0, 8)));
    return;
  }
  std::string key;
  const int which = in.ConsumeIntegralInRange<int>(0, 2);
  if (which == 0 && !j.empty()) {
    auto it = j.begin();
    std::advance(it, in.ConsumeIntegralInRange<size_t>(0, j.size() - 1));
    key = it.key();
  } else if (which == 1) {
    key = kConfigKeys[in.ConsumeIntegralInRange<size_t>(0, std::size(kConfigKeys) - 1)];
  } else {
    key = in.ConsumeRandomLengthString(24);
  }
  static const std::string kSlot = "@gml-fuzz-value@";
  std::string value;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:  // delete the key
      j.erase(key);
      config = dump(j);
      return;
    case 1:  // one element of an array or object value (a prior's fields)
      if (j.contains(key) && j[key].is_object() && !j[key].empty()) {
        nlohmann::ordered_json& o = j[key];
        auto it = o.begin();
        std::advance(it, in.ConsumeIntegralInRange<size_t>(0, o.size() - 1));
        it.value() = kSlot;
        value = consume_json_value(in);
        break;
      }
      if (j.contains(key) && j[key].is_array()) {
        nlohmann::ordered_json& a = j[key];
        const size_t i = in.ConsumeIntegralInRange<size_t>(0, a.size());
        if (i == a.size()) {
          a.push_back(kSlot);
        } else {
          a[i] = kSlot;
        }
        value = consume_json_value(in);
        break;
      }
      [[fallthrough]];
    default: j[key] = kSlot; value = consume_json_value(in);
  }
  config = dump(j);
  const std::string quoted = "\"" + kSlot + "\"";
  if (const size_t at = config.find(quoted); at != std::string::npos) {
    config.replace(at, quoted.size(), value);
  }
}

// Applies edit `op` (below kModelEdits) to the in-memory model.
void edit_model(FuzzedDataProvider& in, int op, ModelFile& m) {
  switch (op) {
    case 0: {  // replace a text attribute
      std::string value = in.ConsumeRandomLengthString(kMaxText);
      switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: m.family = value; break;
        case 1: m.config = value; break;
        case 2: m.provenance = value; break;
        default: m.created = value;
      }
      return;
    }
    case 1: mutate_config(in, m.config); return;
    case 2: {  // delete a tensor
      TensorMap& g = group_of(m, in.ConsumeIntegralInRange<size_t>(0, 2));
      if (auto it = pick(in, g); it != g.end()) g.erase(it);
      return;
    }
    case 3: {  // rename a tensor, possibly into another group
      TensorMap& from = group_of(m, in.ConsumeIntegralInRange<size_t>(0, 2));
      TensorMap& to = group_of(m, in.ConsumeIntegralInRange<size_t>(0, 2));
      auto it = pick(in, from);
      if (it == from.end()) return;
      at::Tensor t = it->second;
      std::string name = in.ConsumeBool() ? it->first : consume_tensor_name(in, to);
      from.erase(it);
      to[name] = t;
      return;
    }
    case 4: {  // add a tensor
      TensorMap& g = group_of(m, in.ConsumeIntegralInRange<size_t>(0, 2));
      std::string name = consume_tensor_name(in, g);
      const at::ScalarType dtype = in.PickValueInArray(kDtypes);
      g[name] = make_tensor(in, dtype, consume_shape(in));
      return;
    }
    case 5: {  // reshape, keeping the leading elements
      TensorMap& g = group_of(m, in.ConsumeIntegralInRange<size_t>(0, 2));
      auto it = pick(in, g);
      if (it == g.end()) return;
      const std::vector<int64_t> shape = consume_shape(in);
      at::Tensor flat = it->second.flatten();
      at::Tensor out = at::zeros(shape, flat.options());
      const int64_t n = std::min(flat.numel(), out.numel());
      if (n > 0) out.view({-1}).slice(0, 0, n).copy_(flat.slice(0, 0, n));
      it->second = out;
      return;
    }
    case 6: {  // change the dtype
      TensorMap& g = group_of(m, in.ConsumeIntegralInRange<size_t>(0, 2));
      auto it = pick(in, g);
      if (it != g.end()) it->second = it->second.to(in.PickValueInArray(kDtypes));
      return;
    }
    case 7: {  // overwrite one element or all with a special value
      TensorMap& g = group_of(m, in.ConsumeIntegralInRange<size_t>(0, 2));
      auto it = pick(in, g);
      if (it == g.end()) return;
      at::Tensor t = it->second.clone();
      const double v = in.PickValueInArray(kSpecialValues);
      const bool floating = at::isFloatingType(t.scalar_type());
      // Integer tensors take the value's integer neighbourhood; torch refuses
      // NaN and out-of-range values there, which is the editor's problem,
      // not the reader's.
      const at::Scalar s =
          floating
              ? at::Scalar(v)
              : at::Scalar(static_cast<int64_t>(std::isfinite(v) && std::fabs(v) < 1e18 ? v : -1));
      if (t.numel() > 0 && in.ConsumeBool()) {
        t.view({-1})[in.ConsumeIntegralInRange<int64_t>(0, t.numel() - 1)].fill_(s);
      } else if (t.scalar_type() != at::kBool) {
        t.fill_(s);
      }
      it->second = t;
      return;
    }
    case 8: {  // overwrite the bytes with input
      TensorMap& g = group_of(m, in.ConsumeIntegralInRange<size_t>(0, 2));
      auto it = pick(in, g);
      if (it != g.end()) {
        const std::vector<int64_t> shape(it->second.sizes().begin(), it->second.sizes().end());
        it->second = make_tensor(in, it->second.scalar_type(), shape);
      }
      return;
    }
    default: return;
  }
}
constexpr int kModelEdits = 9;  // edit_model's cases
constexpr int kFileEdits = 6;   // edit_file's cases

// ---- the written file, edited through the HDF5 C API -------------------

hid_t h5_type_of(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return H5T_NATIVE_FLOAT;
    case at::kDouble: return H5T_NATIVE_DOUBLE;
    case at::kLong: return H5T_NATIVE_INT64;
    case at::kInt: return H5T_NATIVE_INT32;
    case at::kShort: return H5T_NATIVE_INT16;
    case at::kChar: return H5T_NATIVE_INT8;
    default: return H5T_NATIVE_UINT8;
  }
}

void write_dataset(hid_t group, const std::string& name, const at::Tensor& tensor) {
  at::Tensor t = tensor.contiguous();
  if (t.scalar_type() == at::kBool) t = t.to(at::kByte);
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  gml::H5Handle space(dims.empty()
                          ? H5Screate(H5S_SCALAR)
                          : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                      H5Sclose, "space");
  const hid_t type = h5_type_of(t.scalar_type());
  gml::H5Handle ds(
      H5Dcreate2(group, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose, "dataset");
  if (t.numel() > 0) H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr());
}

void remove_link(hid_t loc, const std::string& name) {
  if (H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(loc, name.c_str(), H5P_DEFAULT);
}

bool same_tensor(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && at::equal(a, b);
}

// Brings a file written from `signed_model` to `edited` while keeping the
// signed model's checksums.
void write_edits_into_file(hid_t file, const ModelFile& signed_model, const ModelFile& edited) {
  const std::pair<const char*, std::pair<const std::string*, const std::string*>> text[] = {
      {"gml_family", {&signed_model.family, &edited.family}},
      {"config", {&signed_model.config, &edited.config}},
      {"provenance", {&signed_model.provenance, &edited.provenance}},
      {"created", {&signed_model.created, &edited.created}}};
  for (const auto& [name, values] : text) {
    if (*values.first != *values.second) gml::h5_write_string_attribute(file, name, *values.second);
  }
  for (size_t g = 0; g < 3; ++g) {
    const TensorMap& before = group_of(const_cast<ModelFile&>(signed_model), g);
    const TensorMap& after = group_of(const_cast<ModelFile&>(edited), g);
    gml::H5Handle group(H5Gopen2(file, kGroupNames[g], H5P_DEFAULT), H5Gclose, "group");
    for (const auto& [name, t] : before) {
      if (!after.count(name)) remove_link(group.get(), name);
    }
    for (const auto& [name, t] : after) {
      auto it = before.find(name);
      if (it != before.end() && same_tensor(it->second, t)) continue;
      remove_link(group.get(), name);
      try {
        write_dataset(group.get(), name, t);
      } catch (const gml::Error&) {
        // HDF5 refuses the name ('/', '.'): the tensor is just gone.
      }
    }
  }
}

// Writes attribute `name` holding `count` elements of `type`: 0 is a
// scalar, -1 a null dataspace (no element at all), more a 1-D array.
void write_attribute(hid_t loc, const std::string& name, hid_t type, int count,
                     const void* values) {
  if (H5Aexists(loc, name.c_str()) > 0) H5Adelete(loc, name.c_str());
  const hsize_t n = static_cast<hsize_t>(std::max(count, 1));
  gml::H5Handle space(count < 0    ? H5Screate(H5S_NULL)
                      : count == 0 ? H5Screate(H5S_SCALAR)
                                   : H5Screate_simple(1, &n, nullptr),
                      H5Sclose, "space");
  gml::H5Handle attr(H5Acreate2(loc, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                     H5Aclose, "attribute");
  if (count >= 0) H5Awrite(attr.get(), type, values);
}

// An HDF5 element type, most of which read_model_file must refuse by name.
hid_t consume_h5_type(FuzzedDataProvider& in, std::unique_ptr<gml::H5Handle>& keep) {
  const hid_t fixed[] = {
      H5T_NATIVE_FLOAT,  H5T_NATIVE_DOUBLE, H5T_NATIVE_INT64, H5T_NATIVE_INT32,
      H5T_NATIVE_INT16,  H5T_NATIVE_INT8,   H5T_NATIVE_UINT8, H5T_NATIVE_UINT16,
      H5T_NATIVE_UINT32, H5T_NATIVE_UINT64, H5T_IEEE_F32BE,   H5T_IEEE_F64BE,
      H5T_STD_I64BE,     H5T_STD_U8BE,      H5T_STD_B8LE,     H5T_NATIVE_LDOUBLE};
  const int k = in.ConsumeIntegralInRange<int>(0, static_cast<int>(std::size(fixed)) + 3);
  if (k < static_cast<int>(std::size(fixed))) return fixed[k];
  hid_t t = -1;
  switch (k - static_cast<int>(std::size(fixed))) {
    case 0:  // a two-byte float, which HDF5 converts but torch's dtype table lacks
      t = H5Tcopy(H5T_IEEE_F32LE);
      H5Tset_fields(t, 15, 10, 5, 0, 10);
      H5Tset_size(t, 2);
      H5Tset_ebias(t, 15);
      break;
    case 1:
      t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, 8);
      break;
    case 2:
      t = H5Tcreate(H5T_COMPOUND, 8);
      H5Tinsert(t, "a", 0, H5T_NATIVE_FLOAT);
      H5Tinsert(t, "b", 4, H5T_NATIVE_FLOAT);
      break;
    default: {
      const hsize_t two = 2;
      t = H5Tarray_create2(H5T_NATIVE_FLOAT, 1, &two);
    }
  }
  keep = std::make_unique<gml::H5Handle>(t, H5Tclose, "type");
  return t;
}

// A dataset as the reader may meet it in a hand-made or damaged file:
// any element type, rank up to 20, dimensions up to 2^62, stored only while
// small.
void replace_dataset(FuzzedDataProvider& in, hid_t group, const std::string& name) {
  std::unique_ptr<gml::H5Handle> keep;
  const hid_t type = consume_h5_type(in, keep);
  static const hsize_t kDims[] = {
      0, 1, 2, 3, 4, 7, 8, 64, 1 << 20, hsize_t{1} << 31, hsize_t{1} << 40, hsize_t{1} << 62};
  const int space_kind = in.ConsumeIntegralInRange<int>(0, 5);
  hid_t space = -1;
  if (space_kind == 0) {
    space = H5Screate(H5S_SCALAR);
  } else if (space_kind == 1) {
    space = H5Screate(H5S_NULL);
  } else {
    std::vector<hsize_t> dims(in.ConsumeIntegralInRange<size_t>(1, 20));
    for (hsize_t& d : dims) {
      d = in.ConsumeBool() ? in.PickValueInArray(kDims) : in.ConsumeIntegral<uint32_t>();
    }
    space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  }
  gml::H5Handle space_handle(space, H5Sclose, "space");
  remove_link(group, name);
  gml::H5Handle ds(H5Dcreate2(group, name.c_str(), type, space_handle.get(), H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT),
                   H5Dclose, "dataset");
  const hssize_t points = H5Sget_simple_extent_npoints(space_handle.get());
  const size_t element = H5Tget_size(type);
  if (points > 0 && element > 0 && static_cast<uint64_t>(points) * element <= kMaxStoredBytes) {
    std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(static_cast<size_t>(points) * element);
    bytes.resize(static_cast<size_t>(points) * element);
    if (H5Tget_class(type) == H5T_STRING || H5Tget_class(type) == H5T_COMPOUND ||
        H5Tget_class(type) == H5T_ARRAY || H5Tget_class(type) == H5T_FLOAT ||
        H5Tget_class(type) == H5T_INTEGER || H5Tget_class(type) == H5T_BITFIELD) {
      H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
    }
  }
}

void edit_file(FuzzedDataProvider& in, int op, hid_t file) {
  switch (op) {
    case 0: {  // delete a root attribute
      const char* name = in.PickValueInArray(kRootAttributes);
      if (H5Aexists(file, name) > 0) H5Adelete(file, name);
      return;
    }
    case 1: {  // rewrite a root attribute: another type, another shape
      const std::string name = in.ConsumeBool() ? std::string(in.PickValueInArray(kRootAttributes))
                                                : in.ConsumeRandomLengthString(24);
      if (name.empty()) return;
      const int count = in.ConsumeIntegralInRange<int>(-1, 8);
      const size_t elements = static_cast<size_t>(std::max(count, 1));
      switch (in.ConsumeIntegralInRange<int>(0, 4)) {
        case 0: {  // fixed-length strings, as galaxyml writes them
          const std::string text = in.ConsumeRandomLengthString(kMaxText);
          gml::H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "type");
          H5Tset_size(type.get(), std::max<size_t>(text.size(), 1));
          H5Tset_cset(type.get(), H5T_CSET_UTF8);
          std::string values;
          for (size_t i = 0; i < elements; ++i)
            values += text.empty() ? std::string(1, '\0') : text;
          write_attribute(file, name, type.get(), count, values.data());
          return;
        }
        case 1: {  // variable-length strings, as h5py writes str
          const std::string text = in.ConsumeRandomLengthString(kMaxText);
          gml::H5Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "type");
          H5Tset_size(type.get(), H5T_VARIABLE);
          H5Tset_cset(type.get(), H5T_CSET_UTF8);
          const std::vector<const char*> values(elements, text.c_str());
          write_attribute(file, name, type.get(), count, values.data());
          return;
        }
        default: {  // numbers
          const hid_t types[] = {H5T_NATIVE_INT32, H5T_NATIVE_INT64, H5T_NATIVE_DOUBLE};
          const hid_t type = types[in.ConsumeIntegralInRange<int>(0, 2)];
          std::vector<uint8_t> values = in.ConsumeBytes<uint8_t>(elements * H5Tget_size(type));
          values.resize(elements * H5Tget_size(type));
          write_attribute(file, name, type, count, values.data());
          return;
        }
      }
    }
    case 2: {  // the format version, in place
      static const int32_t kVersions[] = {0, 1, 2, 3, -1, INT32_MAX, INT32_MIN};
      const int32_t v =
          in.ConsumeBool() ? in.PickValueInArray(kVersions) : in.ConsumeIntegral<int32_t>();
      if (H5Aexists(file, "gml_format_version") <= 0) return;
      gml::H5Handle attr(H5Aopen(file, "gml_format_version", H5P_DEFAULT), H5Aclose, "attribute");
      // An earlier edit may have made it an array: writing one value would
      // make HDF5 read past `v`.
      gml::H5Handle space(H5Aget_space(attr.get()), H5Sclose, "dataspace");
      if (H5Sget_simple_extent_npoints(space.get()) != 1) return;
      H5Awrite(attr.get(), H5T_NATIVE_INT32, &v);
      return;
    }
    case 3:
    case 4: {  // replace or add a dataset, or plant a link or subgroup in its place
      const char* g = in.PickValueInArray(kGroupNames);
      if (H5Lexists(file, g, H5P_DEFAULT) <= 0) return;
      gml::H5Handle group(H5Gopen2(file, g, H5P_DEFAULT), H5Gclose, "group");
      std::vector<std::string> names;
      H5Literate(
          group.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
          [](hid_t, const char* n, const H5L_info_t*, void* out) -> herr_t {
            static_cast<std::vector<std::string>*>(out)->emplace_back(n);
            return 0;
          },
          &names);
      std::string name = !names.empty() && in.ConsumeBool()
                             ? names[in.ConsumeIntegralInRange<size_t>(0, names.size() - 1)]
                             : in.ConsumeRandomLengthString(48);
      if (name.empty()) return;
      if (op == 3) {
        replace_dataset(in, group.get(), name);
        return;
      }
      remove_link(group.get(), name);
      switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0:
          H5Lcreate_soft("/nowhere", group.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
          return;
        case 1:
          H5Lcreate_external("missing.h5", "/x", group.get(), name.c_str(), H5P_DEFAULT,
                             H5P_DEFAULT);
          return;
        case 2:
          // The group itself, through a soft link: a cycle for any reader
          // that follows links.
          H5Lcreate_soft((std::string("/") + g).c_str(), group.get(), name.c_str(), H5P_DEFAULT,
                         H5P_DEFAULT);
          return;
        default: {
          gml::H5Handle sub(
              H5Gcreate2(group.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Gclose, "subgroup");
          return;
        }
      }
    }
    default: {  // a whole group deleted, or a dataset in its place
      const char* g = in.PickValueInArray(kGroupNames);
      remove_link(file, g);
      if (in.ConsumeBool()) write_dataset(file, g, at::zeros({2}));
      return;
    }
  }
}

// The merger seed costs twenty times the others per input (its encoder
// alone has 4 M parameters to write, hash twice, initialise and load), and
// its loader has the least logic of its own: it gets one input in sixteen,
// the flow and the three posteriors four each (the last one three).
size_t pick_seed(uint8_t byte) {
  const int slot = byte % 16;
  return slot == 15 ? 4 : static_cast<size_t>(slot / 4);
}

// ---- reading, as gml_model_load does ------------------------------------

void load_like_gml_model_load(const std::string& path, std::string_view expected_family) {
  ModelFile file = gml::read_model_file(path, expected_family);
  for (const gml::ModelFamily* family : kFamilies) {
    if (file.family != family->name) continue;
    std::unique_ptr<gml::LoadedModel> model = family->load(file);
    model->to_device(c10::Device(c10::kCPU));
    return;
  }
}

[[noreturn]] void finding(const char* stage, const char* what, const char* type) {
  int status = 0;
  char* readable = abi::__cxa_demangle(type, nullptr, nullptr, &status);
  std::fprintf(stderr, "fuzz_model_file: %s threw %s: %s\n", stage, readable ? readable : type,
               what);
  std::abort();
}

// Runs `body`; a gml::Error with a message is an accepted outcome, anything
// else thrown is a finding.
template <typename Body>
bool expect_gml_error(const char* stage, Body&& body) {
  try {
    body();
    if (seeds().verbose) std::fprintf(stderr, "fuzz_model_file: %s: done\n", stage);
    return true;
  } catch (const gml::Error& e) {
    if (e.what()[0] == '\0') finding(stage, "(empty message)", "gml::Error");
    if (seeds().verbose) {
      std::fprintf(stderr, "fuzz_model_file: %s: gml::Error %d: %s\n", stage,
                   static_cast<int>(e.status()), e.what());
    }
    return false;
  } catch (const std::exception& e) {
    finding(stage, e.what(), typeid(e).name());
  } catch (...) {
    finding(stage, "", "a non-std exception");
  }
}

void make_seeds() {
  Seeds& s = seeds();
  at::manual_seed(7);
  const std::string path = s.dir + "/seed.h5";
  {
    gml::flow::FlowConfig c;
    c.data_dim = 3;
    c.condition_dim = 2;
    c.num_blocks = 2;
    c.num_bins = 4;
    c.hidden_width = 8;
    c.hidden_layers = 2;
    c.log_columns = {1};
    c.condition_log_columns = {0};
    c.column_names = {"x", "mass", "z"};
    c.condition_names = {"log10_mstar", "tau50"};
    gml::flow::ConditionalFlow flow(c, 7);
    gml::flow::FlowFileExtras extras;
    extras.condition_min = at::tensor({9.0, 0.5}, at::kDouble);
    extras.condition_max = at::tensor({12.0, 9.5}, at::kDouble);
    extras.training = R"({"epochs":1,"loss":[1.5]})";
    gml::flow::save_flow(path, flow, extras);
    s.models.push_back(gml::read_model_file(path));
  }
  for (int variant = 0; variant < 3; ++variant) {
    const auto estimator =
        variant == 0 ? gml::posterior::Estimator::Maf : gml::posterior::Estimator::Nsf;
    gml::posterior::PosteriorConfig c;
    c.estimator = estimator;
    // sbi's NSF: residual conditioners and LU layers, a box prior mapped
    // to an unbounded space.
    c.coupling = variant == 2;
    c.bounded_theta = variant == 2;
    c.theta_dim = 2;
    c.x_dim = 3;
    c.num_blocks = 2;
    c.hidden_width = 8;
    c.made_blocks = estimator == gml::posterior::Estimator::Maf ? 1 : 2;
    c.num_bins = 4;
    if (variant != 1) {
      c.prior_lower = {0.0, -1.0};
      c.prior_upper = {1.0, 1.0};
    } else {
      // The other seed carries a prior object, so its JSON is fuzzed too.
      c.prior = gml::posterior::Prior::from_json_text(
          R"({"kind":"independent","marginals":[{"kind":"lognormal","mean":0,"std":1},)"
          R"({"kind":"normal","mean":0,"std":2}]})");
    }
    c.theta_names = {"log_mstar", "z"};
    gml::posterior::PosteriorFlow flow(c, 7);
    gml::posterior::PosteriorFileExtras extras;
    extras.x_train_min = at::full({3}, -2.0, at::kDouble);
    extras.x_train_max = at::full({3}, 2.0, at::kDouble);
    extras.support_x = at::randn({4, 3}, at::kDouble);
    extras.training = R"({"epochs":1})";
    gml::posterior::save_posterior(path, flow, extras);
    s.models.push_back(gml::read_model_file(path));
  }
  {
    // The smallest encoder, no decoder: the merger seed is still the
    // largest (about 4 M parameters), and every input writes it once.
    gml::merger::MergerConfig c;
    c.backbone = "efficientnet_b0";
    c.image_size = 32;
    c.n_classes = 3;
    c.time_max_myr = 100;
    c.fcae = false;
    c.latent_dim = 4;
    c.vae_hidden = 8;
    gml::merger::MergerNet net(c);
    gml::merger::MergerTrainReport report;
    report.train_loss = {1.0, 0.5};
    report.validation_loss = {1.1, 0.6};
    gml::merger::save_merger(path, net, R"({"data":"seed"})", &report);
    s.models.push_back(gml::read_model_file(path));
  }
  // A seed that does not load would leave only error paths to fuzz.
  for (const ModelFile& m : s.models) {
    ModelFile copy = m;
    gml::write_model_file(s.path, copy);
    load_like_gml_model_load(s.path, m.family);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // One thread: inputs are small, and thread pools only add noise to the
  // coverage and to leak checking.
  at::set_num_threads(1);
  at::set_num_interop_threads(1);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::string dir = (std::filesystem::temp_directory_path() / "gml_fuzz_model.XXXXXX").string();
  if (!mkdtemp(dir.data())) {
    std::perror("fuzz_model_file: mkdtemp");
    std::abort();
  }
  seeds().dir = dir;
  seeds().verbose = std::getenv("GML_FUZZ_VERBOSE") != nullptr;
  seeds().path = dir + "/model.h5";
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(seeds().dir, ec);
  });
  try {
    make_seeds();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_model_file: cannot make the seed models: %s\n", e.what());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const Seeds& s = seeds();
  const ModelFile& seed = s.models[pick_seed(in.ConsumeIntegral<uint8_t>())];
  const auto signing = static_cast<Signing>(in.ConsumeIntegralInRange<int>(0, 2));
  const bool tell_family = in.ConsumeBool();

  // Model edits go into the copy now; each file edit takes its own slice of
  // the input, decoded once the file exists.
  ModelFile edited = seed;
  std::vector<int> file_ops;
  std::vector<std::vector<uint8_t>> file_args;
  for (size_t n = 0; n < kMaxEdits && in.remaining_bytes() > 0; ++n) {
    const int op = in.ConsumeIntegralInRange<int>(0, kModelEdits + kFileEdits - 1);
    if (op >= kModelEdits) {
      file_ops.push_back(op - kModelEdits);
      file_args.push_back(in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 255)));
      continue;
    }
    try {
      edit_model(in, op, edited);
    } catch (const std::exception&) {
      // torch refused the edit (a value out of a dtype's range): skip it.
    }
  }

  // Writing may refuse what the edits made (a name with '/', an empty
  // family): such an input has nothing to read.
  ModelFile signed_model = signing == Signing::BeforeEdits ? seed : edited;
  if (!expect_gml_error("write_model_file", [&] { gml::write_model_file(s.path, signed_model); })) {
    return 0;
  }
  if (signing != Signing::AfterEdits || !file_ops.empty()) {
    std::lock_guard<std::recursive_mutex> lock(gml::hdf5_mutex());
    try {
      gml::H5Handle file(H5Fopen(s.path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, s.path);
      if (signing == Signing::BeforeEdits) write_edits_into_file(file.get(), signed_model, edited);
      if (signing == Signing::Version1) {
        signed_model.format_version = 1;
        const int32_t one = 1;
        write_attribute(file.get(), "gml_format_version", H5T_NATIVE_INT32, 0, &one);
        gml::h5_write_string_attribute(file.get(), "checksum", gml::model_checksum(signed_model));
      }
      for (size_t i = 0; i < file_ops.size(); ++i) {
        FuzzedDataProvider args(file_args[i].data(), file_args[i].size());
        try {
          edit_file(args, file_ops[i], file.get());
        } catch (const gml::Error&) {
          // HDF5 refused the edit: the file keeps what was there.
        }
      }
    } catch (const gml::Error&) {
      return 0;
    }
  }

  expect_gml_error("loading", [&] {
    load_like_gml_model_load(s.path, tell_family ? std::string_view(seed.family) : "");
  });
  return 0;
}
