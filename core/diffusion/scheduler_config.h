// A checkpoint's scheduler/scheduler_config.json, read the way diffusers'
// `SchedulerClass.from_config(config)` reads it: the stored values of the
// keys the chosen sampler knows, that sampler's own defaults for the rest.
// So Stable Diffusion 1.5's PNDM config run with Euler-ancestral gets the
// linspace spacing a diffusers user gets.
#pragma once

#include <string>

#include "core/diffusion/noise_schedule.h"
#include "core/diffusion/scheduler.h"

namespace gml::diffusion {

// The sampler the config was written for (its "_class_name").
// Error(Format) naming `source` for text that is not a JSON object, a class
// this engine does not implement, or a missing "_class_name".
SamplerKind sampler_of_config(const std::string& json_text, const std::string& source);

// The noise schedule `sampler` runs with under this config.
// Error(Format) naming `source` and the key for a value this engine does not
// implement (trained_betas, zero-SNR rescaling, thresholding, PNDM's PRK
// warm-up, a DPM-Solver variant other than ++(2M) midpoint, ...), or one of
// the wrong type.
NoiseScheduleConfig noise_schedule_for(SamplerKind sampler, const std::string& json_text,
                                       const std::string& source);

}  // namespace gml::diffusion
