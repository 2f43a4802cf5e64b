// The merger family (DeepGalaxy) as the C ABI sees it: its runs over files
// (training, simulation, latent indexes) and the in-memory inference they
// share with gml_merger_classify() and _encode().
#pragma once

#include "core/merger/merger_images.h"
#include "core/merger/merger_inference.h"
#include "runs/merger/image_runs.h"
#include "runs/merger/train_run.h"
