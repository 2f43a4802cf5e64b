#include "runs/merger/train_run.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "core/common/error.h"
#include "core/distributed/backend.h"
#include "core/distributed/rank_agreement.h"
#include "core/merger/merger_config.h"
#include "core/merger/merger_file.h"
#include "core/merger/sim/fits.h"

namespace gml::runs {

namespace mg = gml::merger;

MergerTrainRun run_merger_training(const std::string& data_path, const MergerTrainRunOptions& o,
                                   const std::string& model_path, dist::Backend& backend,
                                   RunControl* control, const c10::Device& device) {
  const mg::MergerImageSet set = mg::read_merger_fits(data_path);
  require(set.n >= 1, "'" + data_path + "' holds no images");
  mg::MergerConfig cfg;
  cfg.backbone = o.backbone;
  cfg.in_channels = set.channels;
  require(set.height == set.width, "merger training needs square images");
  cfg.image_size = set.height;
  cfg.n_classes = *std::max_element(set.time_class.begin(), set.time_class.end()) + 1;
  cfg.time_max_myr = *std::max_element(set.time_myr.begin(), set.time_myr.end());
  cfg.regress_time = o.regress_time && cfg.time_max_myr > 0;
  cfg.fcae = o.fcae;
  cfg.latent_dim = o.latent_dim;
  cfg.nan_policy = mg::nan_policy_from_name(o.nan_policy);
  cfg.validate();

  MergerTrainRun run;
  run.validation_cameras = o.validation_cameras;
  if (run.validation_cameras.empty()) {
    const std::set<int32_t> seen(set.camera.begin(), set.camera.end());
    require(seen.size() >= 3,
            "the data file has fewer than 3 cameras; name the validation cameras explicitly");
    auto it = seen.rbegin();
    run.validation_cameras = {*it, *std::next(it)};
  }
  const mg::MergerSamples all = mg::samples_from_image_set(set, cfg);
  auto [train, val] = mg::split_by_camera(all, run.validation_cameras);

  at::manual_seed(o.train.seed);  // initial weights; rank 0's are broadcast
  mg::MergerNet net(cfg);
  run.report = mg::train_merger(net, train, val, o.train, backend, control, device);

  dist::on_all_ranks(backend, "writing the model file", [&] {
    if (backend.rank() != 0) return;
    net->to(at::kCPU);
    const nlohmann::json prov{{"data", data_path},
                              {"images", set.n},
                              {"validation_cameras", run.validation_cameras},
                              {"world_size", backend.size()},
                              {"command", o.command}};
    mg::save_merger(model_path, net, prov.dump(), &run.report);
  });
  return run;
}

}  // namespace gml::runs
