#include "core/merger/search/index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/model_file.h"
#include "core/merger/merger_images.h"
#include "core/merger/search/knn.h"
#include "core/merger/search/ssim.h"

namespace gml::merger {

namespace {

// Thumbnail pixels compared per SSIM block in query_index.
constexpr int64_t kSsimBlockPixels = int64_t{1} << 24;

std::string shape_text(const at::Tensor& t) {
  if (!t.defined()) return "none";
  std::string s = "(";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}

bool has_thumbnails(const LatentIndex& index) {
  return index.thumbnails.defined() && index.thumbnails.numel() > 0;
}

// Checks the arrays of an index against each other; `status` is
// InvalidArgument for an index the caller built, Format for one read back.
void check_index(const LatentIndex& ix, Status status, const std::string& where) {
  auto check = [&](bool ok, const std::string& message) {
    if (!ok) fail(status, where + ": " + message);
  };
  check(ix.latents.defined() && ix.latents.dim() == 2 && ix.latents.size(0) > 0 &&
            ix.latents.size(1) > 0,
        "latents must be a non-empty (N, D) array, got " + shape_text(ix.latents));
  check(at::isFloatingType(ix.latents.scalar_type()), "latents must be floating point");
  const int64_t n = ix.latents.size(0);
  const std::string n_text = std::to_string(n);
  check(ix.ids.defined() && ix.ids.dim() == 1 && ix.ids.size(0) == n &&
            !at::isFloatingType(ix.ids.scalar_type()),
        "ids must be (" + n_text + ") integers, got " + shape_text(ix.ids));
  for (const auto& [name, t] : {std::pair<const char*, const at::Tensor&>{"sim_id", ix.sim_id},
                                {"time_class", ix.time_class}}) {
    check(!t.defined() || (t.dim() == 1 && t.size(0) == n && !at::isFloatingType(t.scalar_type())),
          std::string(name) + " must be (" + n_text + ") integers, got " + shape_text(t));
  }
  if (has_thumbnails(ix)) {
    check(ix.thumbnails.dim() == 4 && ix.thumbnails.size(0) == n,
          "thumbnails must be (" + n_text + ", C, h, w), got " + shape_text(ix.thumbnails));
  }
  check(std::isfinite(ix.data_range) && ix.data_range > 0,
        "data_range = " + std::to_string(ix.data_range) + " must be positive");
  check(!ix.model_checksum.empty(), "the model checksum is empty");
}

at::Tensor int32_or_unknown(const at::Tensor& t, int64_t n) {
  return t.defined() ? t.to(at::kCPU, at::kInt).contiguous() : at::full({n}, -1, at::kInt);
}

at::Tensor pack_strings(const std::vector<std::string>& strings) {
  std::string bytes;
  for (const auto& s : strings) {
    require(s.find('\0') == std::string::npos,
            "write_latent_index: source name '" + s.substr(0, s.find('\0')) + "...' holds a NUL");
    bytes += s;
    bytes.push_back('\0');
  }
  at::Tensor t = at::empty({static_cast<int64_t>(bytes.size())}, at::kByte);
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(t.data_ptr<uint8_t>()));
  return t;
}

std::vector<std::string> unpack_strings(const at::Tensor& t, const std::string& where) {
  const at::Tensor bytes = t.to(at::kByte).contiguous().view(-1);
  const char* p = reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>());
  const size_t size = static_cast<size_t>(bytes.numel());
  if (size > 0 && p[size - 1] != '\0') {
    fail(Status::Format, where + ": /extra/sources does not end with a NUL");
  }
  std::vector<std::string> out;
  for (const char* start = p; start < p + size;) {
    // Found: the last byte is a NUL.
    const char* end =
        static_cast<const char*>(std::memchr(start, '\0', static_cast<size_t>(p + size - start)));
    out.emplace_back(start, end);
    start = end + 1;
  }
  return out;
}

const at::Tensor& extra(const ModelFile& m, const std::string& name, const std::string& where) {
  const auto it = m.extra.find(name);
  if (it == m.extra.end()) fail(Status::Format, where + ": /extra/" + name + " is missing");
  return it->second;
}

}  // namespace

double nn_distance_scale(const at::Tensor& latents) {
  require(latents.defined() && latents.dim() == 2, "nn_distance_scale: latents must be (N, D)");
  if (latents.size(0) < 2) return std::numeric_limits<double>::quiet_NaN();
  const at::Tensor x = latents.to(at::kFloat);
  const KnnResult nn = knn_search(x, x, 1, Metric::L2, 4096, /*exclude_self=*/true);
  c10::InferenceMode guard;
  return at::quantile(nn.distances.view(-1).to(at::kDouble), kNnDistanceQuantile).item<double>();
}

void write_latent_index(const std::string& path, const LatentIndex& index,
                        const std::string& provenance) {
  const std::string where = "write_latent_index '" + path + "'";
  check_index(index, Status::InvalidArgument, where);
  const int64_t n = index.latents.size(0), dim = index.latents.size(1);
  ModelFile m;
  m.family = kLatentIndexFamily;
  m.provenance = provenance;
  m.extra["latents"] = index.latents.detach().to(at::kCPU, at::kFloat).contiguous();
  require_finite_rows(m.extra["latents"], (where + ": latents").c_str());
  m.extra["ids"] = index.ids.to(at::kCPU, at::kLong).contiguous();
  m.extra["sim_id"] = int32_or_unknown(index.sim_id, n);
  m.extra["time_class"] = int32_or_unknown(index.time_class, n);
  nlohmann::json thumb_shape = nlohmann::json::array();
  if (has_thumbnails(index)) {
    m.extra["thumbnails"] = index.thumbnails.detach().to(at::kCPU, at::kFloat).contiguous();
    for (int64_t i = 1; i < 4; ++i) thumb_shape.push_back(index.thumbnails.size(i));
  }
  m.extra["sources"] = pack_strings(index.sources);
  const double given = index.nn_distance_scale;
  require(std::isnan(given) || (std::isfinite(given) && given >= 0),
          where + ": nn_distance_scale must be a distance or NaN (compute it), not " +
              std::to_string(given));
  const double scale = n > 1 && !std::isnan(given) ? given : nn_distance_scale(m.extra["latents"]);
  // JSON has no NaN: an index of one entry stores null (no scale).
  const nlohmann::json scale_json = std::isfinite(scale) ? nlohmann::json(scale) : nullptr;
  const nlohmann::json config = {{"index_version", kLatentIndexVersion},
                                 {"model_checksum", index.model_checksum},
                                 {"backbone", index.backbone},
                                 {"count", n},
                                 {"latent_dim", dim},
                                 {"thumbnail_shape", thumb_shape},
                                 {"data_range", index.data_range},
                                 {"nn_distance_scale", scale_json}};
  m.config = config.dump();
  write_model_file(path, m);
}

LatentIndex read_latent_index(const std::string& path, const std::string& expected_model_checksum) {
  const ModelFile m = read_model_file(path, kLatentIndexFamily);
  const std::string where = "latent index '" + path + "'";
  LatentIndex ix;
  int64_t n = 0, dim = 0;
  std::vector<int64_t> thumb_shape;
  int32_t version = 0;
  try {
    const nlohmann::json config = nlohmann::json::parse(m.config);
    version = config.at("index_version").get<int32_t>();
    if (version > kLatentIndexVersion || version < 1) {
      fail(Status::Version, where + " has index version " + std::to_string(version) +
                                "; this library reads versions 1 to " +
                                std::to_string(kLatentIndexVersion));
    }
    ix.model_checksum = config.at("model_checksum").get<std::string>();
    ix.backbone = config.at("backbone").get<std::string>();
    n = config.at("count").get<int64_t>();
    dim = config.at("latent_dim").get<int64_t>();
    thumb_shape = config.at("thumbnail_shape").get<std::vector<int64_t>>();
    ix.data_range = config.at("data_range").get<double>();
    if (version >= 2) {
      const nlohmann::json& scale = config.at("nn_distance_scale");
      ix.nn_distance_scale =
          scale.is_null() ? std::numeric_limits<double>::quiet_NaN() : scale.get<double>();
    }
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, where + " has an invalid config: " + e.what());
  }
  if (!expected_model_checksum.empty() && ix.model_checksum != expected_model_checksum) {
    fail(Status::InvalidArgument,
         where + " was built with a different model (index: " + ix.model_checksum +
             ", model: " + expected_model_checksum + "); rebuild the index with this model");
  }
  ix.latents = extra(m, "latents", where);
  ix.ids = extra(m, "ids", where);
  ix.sim_id = extra(m, "sim_id", where);
  ix.time_class = extra(m, "time_class", where);
  if (!thumb_shape.empty()) ix.thumbnails = extra(m, "thumbnails", where);
  ix.sources = unpack_strings(extra(m, "sources", where), where);
  check_index(ix, Status::Format, where);
  if (ix.latents.size(0) != n || ix.latents.size(1) != dim ||
      ix.latents.scalar_type() != at::kFloat || ix.ids.scalar_type() != at::kLong ||
      ix.sim_id.scalar_type() != at::kInt || ix.time_class.scalar_type() != at::kInt) {
    fail(Status::Format, where + ": arrays disagree with the config (count " + std::to_string(n) +
                             ", latent_dim " + std::to_string(dim) + ") or have wrong dtypes");
  }
  if (!thumb_shape.empty() &&
      (thumb_shape.size() != 3 || ix.thumbnails.scalar_type() != at::kFloat ||
       !ix.thumbnails.sizes().slice(1).equals(at::IntArrayRef(thumb_shape)))) {
    fail(Status::Format, where + ": thumbnails " + shape_text(ix.thumbnails) +
                             " disagree with the config's thumbnail_shape");
  }
  if (version < 2) {
    ix.nn_distance_scale = nn_distance_scale(ix.latents);
  } else {
    const double scale = ix.nn_distance_scale;
    if (n < 2 ? !std::isnan(scale) : !(std::isfinite(scale) && scale >= 0)) {
      fail(Status::Format, where + ": nn_distance_scale " + std::to_string(scale) +
                               " is not a distance (null for an index of one entry)");
    }
  }
  return ix;
}

std::vector<Neighbour> query_index(const LatentIndex& index, const at::Tensor& query_latents,
                                   const at::Tensor& query_images, int64_t k) {
  check_index(index, Status::InvalidArgument, "query_index");
  require(query_latents.defined() && query_latents.dim() == 2 &&
              query_latents.size(1) == index.latents.size(1),
          "query_index: query latents must be (Q, " + std::to_string(index.latents.size(1)) +
              "), got " + shape_text(query_latents));
  const int64_t q = query_latents.size(0);
  const bool with_images = query_images.defined();
  at::Tensor thumbs;
  if (with_images) {
    require(has_thumbnails(index),
            "query_index: query images were given but the index has no thumbnails");
    thumbs = index.thumbnails;
    require(query_images.dim() == 4 && query_images.size(0) == q &&
                query_images.size(1) == thumbs.size(1),
            "query_index: query images must be (" + std::to_string(q) + ", " +
                std::to_string(thumbs.size(1)) + ", H, W), got " + shape_text(query_images));
  }
  const at::Device device = query_latents.device();
  const KnnResult nn =
      knn_search(query_latents.to(at::kFloat), index.latents.to(device, at::kFloat), k, Metric::L2);

  at::Tensor similarity = at::full({q, k}, std::numeric_limits<double>::quiet_NaN(),
                                   at::TensorOptions().dtype(at::kDouble));
  if (with_images && q > 0) {
    c10::InferenceMode guard;
    const int64_t h = thumbs.size(2), w = thumbs.size(3);
    at::Tensor images = query_images.to(device, at::kFloat);
    if (images.size(2) != h || images.size(3) != w) {
      images = at::adaptive_avg_pool2d(images, {h, w});
    }
    const at::Tensor thumbs_dev = thumbs.to(device, at::kFloat);
    const int64_t per_query = k * thumbs.size(1) * h * w;
    const int64_t block = std::max<int64_t>(1, kSsimBlockPixels / per_query);
    for (int64_t first = 0; first < q; first += block) {
      const int64_t m = std::min(block, q - first);
      const at::Tensor rows = nn.indices.narrow(0, first, m).reshape(-1);
      const at::Tensor s = ssim(images.narrow(0, first, m).repeat_interleave(k, 0),
                                thumbs_dev.index_select(0, rows), index.data_range);
      similarity.narrow(0, first, m).copy_(s.view({m, k}).cpu());
    }
  }

  const at::Tensor rows = nn.indices.cpu().contiguous();
  const at::Tensor dist = nn.distances.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor ids = index.ids.to(at::kCPU, at::kLong).index_select(0, rows.view(-1));
  const int64_t n = index.latents.size(0);
  const at::Tensor sim = int32_or_unknown(index.sim_id, n).index_select(0, rows.view(-1));
  const at::Tensor tcl = int32_or_unknown(index.time_class, n).index_select(0, rows.view(-1));
  const int64_t* r = rows.data_ptr<int64_t>();
  const float* d = dist.data_ptr<float>();
  const double* s = similarity.data_ptr<double>();
  const int64_t* id = ids.data_ptr<int64_t>();
  const double far = kOutOfDistributionFactor * index.nn_distance_scale;  // NaN: never
  const int32_t* si = sim.data_ptr<int32_t>();
  const int32_t* tc = tcl.data_ptr<int32_t>();
  std::vector<Neighbour> out(static_cast<size_t>(q * k));
  for (int64_t i = 0; i < q * k; ++i) {
    Neighbour& nb = out[static_cast<size_t>(i)];
    nb.query = i / k;
    nb.rank = i % k;
    nb.row = r[i];
    nb.distance = d[i];
    nb.ssim = s[i];
    nb.id = id[i];
    nb.sim_id = si[i];
    nb.time_class = tc[i];
    nb.flags = nb.rank == 0 && static_cast<double>(nb.distance) > far ? kImageOutOfDistribution : 0;
  }
  return out;
}

}  // namespace gml::merger
