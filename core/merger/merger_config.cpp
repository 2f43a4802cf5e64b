#include "core/merger/merger_config.h"

#include "core/common/config_fields.h"
#include "core/common/error.h"

namespace gml::merger {
namespace {

const EnumNames<NanPolicy> kNanPolicies{{"reject", NanPolicy::Reject}, {"mask", NanPolicy::Mask}};
const EnumNames<TimeHead> kTimeHeads{{"linear", TimeHead::Linear}, {"bounded", TimeHead::Bounded}};

const ConfigFields<MergerConfig>& fields() {
  using C = MergerConfig;
  static const ConfigFields<C> table = [] {
    ConfigFields<C> f("MergerConfig");
    f.plain("backbone", &C::backbone);
    f.integer("in_channels", &C::in_channels, 1, 64);
    f.integer("image_size", &C::image_size, 16, 1024);
    f.integer("n_classes", &C::n_classes, 2, 100000);
    f.real("time_max_myr", &C::time_max_myr, Interval::at_least(0));
    f.plain("regress_time", &C::regress_time);
    // Absent in files written before the bounded head: they keep the linear one.
    f.choice("time_head", &C::time_head, kTimeHeads, TimeHead::Linear);
    f.plain("fcae", &C::fcae);
    f.integer("latent_dim", &C::latent_dim, 0, 1024);
    f.integer("vae_hidden", &C::vae_hidden, 1, 65536);
    f.real("dropout", &C::dropout, Interval::half_open(0, 1));
    f.choice("nan_policy", &C::nan_policy, kNanPolicies);
    return f;
  }();
  return table;
}

}  // namespace

const char* nan_policy_name(NanPolicy p) {
  return name_of(kNanPolicies, p);
}

const char* time_head_name(TimeHead h) {
  return name_of(kTimeHeads, h);
}

NanPolicy nan_policy_from_name(const std::string& name) {
  return value_named(kNanPolicies, name, "NaN policy");
}

void MergerConfig::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) fail(Status::InvalidArgument, "MergerConfig: " + what);
  };
  fields().validate(*this);
  need(!backbone.empty(), "backbone must be named");
  need(!regress_time || time_max_myr > 0, "regress_time needs time_max_myr > 0");
}

std::string MergerConfig::to_json_text() const {
  return fields().write(*this).dump();
}

MergerConfig MergerConfig::from_json_text(const std::string& text) {
  return fields().parse(text);
}

}  // namespace gml::merger
