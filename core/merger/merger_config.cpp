#include "core/merger/merger_config.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/common/error.h"
#include "core/common/json_field.h"

namespace gml::merger {

const char* nan_policy_name(NanPolicy p) {
  return p == NanPolicy::Reject ? "reject" : "mask";
}

const char* time_head_name(TimeHead h) {
  return h == TimeHead::Linear ? "linear" : "bounded";
}

NanPolicy nan_policy_from_name(const std::string& name) {
  if (name == "reject") return NanPolicy::Reject;
  if (name == "mask") return NanPolicy::Mask;
  fail(Status::InvalidArgument, "unknown NaN policy '" + name + "' (reject or mask)");
}

void MergerConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) fail(Status::InvalidArgument, "MergerConfig: " + what);
  };
  need(!backbone.empty(), "backbone must be named");
  need(in_channels >= 1 && in_channels <= 64, "in_channels must be in [1, 64]");
  need(image_size >= 16 && image_size <= 1024, "image_size must be in [16, 1024]");
  need(n_classes >= 2 && n_classes <= 100000, "n_classes must be in [2, 100000]");
  need(std::isfinite(time_max_myr) && time_max_myr >= 0, "time_max_myr must be >= 0");
  need(!regress_time || time_max_myr > 0, "regress_time needs time_max_myr > 0");
  need(latent_dim >= 0 && latent_dim <= 1024, "latent_dim must be in [0, 1024]");
  need(vae_hidden >= 1 && vae_hidden <= 65536, "vae_hidden must be in [1, 65536]");
  need(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
}

std::string MergerConfig::to_json_text() const {
  nlohmann::json j{{"backbone", backbone},
                   {"in_channels", in_channels},
                   {"image_size", image_size},
                   {"n_classes", n_classes},
                   {"time_max_myr", time_max_myr},
                   {"regress_time", regress_time},
                   {"time_head", time_head_name(time_head)},
                   {"fcae", fcae},
                   {"latent_dim", latent_dim},
                   {"vae_hidden", vae_hidden},
                   {"dropout", dropout},
                   {"nan_policy", nan_policy_name(nan_policy)}};
  return j.dump();
}

MergerConfig MergerConfig::from_json_text(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, std::string("MergerConfig: invalid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(Status::Format, "MergerConfig: JSON must be an object");
  static const std::set<std::string> known = {
      "backbone", "in_channels", "image_size", "n_classes", "time_max_myr", "regress_time",
      "fcae",     "latent_dim",  "vae_hidden", "dropout",   "nan_policy",   "time_head"};
  for (const auto& [key, value] : j.items()) {
    if (!known.count(key)) fail(Status::Format, "MergerConfig: unknown key '" + key + "'");
  }
  MergerConfig c;
  try {
    c.backbone = j.value("backbone", c.backbone);
    read_json_field(j, "in_channels", c.in_channels, "MergerConfig");
    read_json_field(j, "image_size", c.image_size, "MergerConfig");
    read_json_field(j, "n_classes", c.n_classes, "MergerConfig");
    c.time_max_myr = j.value("time_max_myr", c.time_max_myr);
    c.regress_time = j.value("regress_time", c.regress_time);
    // Absent in files written before the bounded head: they keep the linear one.
    const std::string head = j.value("time_head", std::string("linear"));
    if (head != "linear" && head != "bounded") {
      fail(Status::Format, "MergerConfig: time_head '" + head + "' (linear or bounded)");
    }
    c.time_head = head == "linear" ? TimeHead::Linear : TimeHead::Bounded;
    c.fcae = j.value("fcae", c.fcae);
    read_json_field(j, "latent_dim", c.latent_dim, "MergerConfig");
    read_json_field(j, "vae_hidden", c.vae_hidden, "MergerConfig");
    c.dropout = j.value("dropout", c.dropout);
    c.nan_policy = nan_policy_from_name(j.value("nan_policy", std::string("reject")));
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, std::string("MergerConfig: bad value: ") + e.what());
  }
  c.validate();
  return c;
}

}  // namespace gml::merger
