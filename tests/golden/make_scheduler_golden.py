"""Golden values of diffusers' noise schedules and samplers, for
tests/diffusion/test_scheduler.cpp: alphas_cumprod, timesteps, sigmas and
every step of full sampling loops (Euler, Euler-ancestral, DDIM) for given
model outputs and per-step noise, DPM-Solver++(2M), DDPM and PNDM; and
what each sampler makes of checkpoints' scheduler_config.json (from_config);
and img2img runs that start part-way from a noised reference.

    pip install diffusers==0.42.1 torch
    python tests/golden/make_scheduler_golden.py   # writes tests/golden/diffusion/schedulers.json

The model outputs are random tensors fixed per step (not a network): the
test is of the scheduler arithmetic alone, so every number the scheduler
sees is stored.
"""
import inspect
import json
import pathlib

import torch
from diffusers import (DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, PNDMScheduler,
                       EulerAncestralDiscreteScheduler, EulerDiscreteScheduler)

SHAPE = (1, 4, 2, 2)  # elementwise arithmetic: a few values per channel suffice
# Stable Diffusion 1.5's scheduler config, then variations of each option.
SD15 = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
            beta_schedule="scaled_linear", timestep_spacing="leading", steps_offset=1,
            prediction_type="epsilon", clip_sample=False)
CASES = [
    ("euler_a", SD15, 40, {}),
    ("euler_a", dict(SD15, timestep_spacing="trailing", steps_offset=0,
                     prediction_type="v_prediction"), 12, {}),
    ("euler", dict(SD15, beta_schedule="linear", beta_start=0.0001, beta_end=0.02,
                   timestep_spacing="linspace", steps_offset=0), 15, {}),
    ("euler", dict(SD15, prediction_type="v_prediction"), 10, {}),
    ("ddim", dict(SD15, set_alpha_to_one=False), 20, {"eta": 0.0}),
    ("ddim", dict(SD15, beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing",
                  steps_offset=0, set_alpha_to_one=True, clip_sample=True), 10, {"eta": 0.5}),
    ("ddim", dict(SD15, timestep_spacing="linspace", steps_offset=0,
                  prediction_type="v_prediction", set_alpha_to_one=False), 8, {"eta": 1.0}),
    ("dpmpp_2m", SD15, 20, {}),
    ("dpmpp_2m", dict(SD15, use_karras_sigmas=True), 25, {}),
    ("dpmpp_2m", dict(SD15, timestep_spacing="trailing", steps_offset=0,
                      prediction_type="v_prediction"), 10, {}),
    ("dpmpp_2m", dict(SD15, beta_schedule="linear", beta_start=0.0001, beta_end=0.02,
                      timestep_spacing="linspace", steps_offset=0, use_karras_sigmas=True), 8, {}),
    ("dpmpp_2m", dict(SD15, beta_schedule="squaredcos_cap_v2"), 12, {}),
    ("ddpm", SD15, 15, {}),
    ("ddpm", dict(SD15, beta_schedule="linear", beta_start=0.0001, beta_end=0.02,
                  timestep_spacing="trailing", steps_offset=0, prediction_type="v_prediction",
                  clip_sample=True), 10, {}),
    ("pndm", dict(SD15, skip_prk_steps=True), 20, {}),
    ("pndm", dict(SD15, skip_prk_steps=True, timestep_spacing="trailing", steps_offset=0,
                  prediction_type="v_prediction", set_alpha_to_one=True), 7, {}),
    ("pndm", dict(SD15, skip_prk_steps=True, beta_schedule="linear", beta_start=0.0001,
                  beta_end=0.02, timestep_spacing="linspace", steps_offset=0), 4, {}),
    ("pndm", dict(SD15, skip_prk_steps=True), 1, {}),
]
CLASSES = {"euler_a": EulerAncestralDiscreteScheduler, "euler": EulerDiscreteScheduler,
           "ddim": DDIMScheduler, "dpmpp_2m": DPMSolverMultistepScheduler, "ddpm": DDPMScheduler,
           "pndm": PNDMScheduler}


def flat(t):
    # Nine significant digits hold a float32 exactly.
    return [float(f"{float(v):.9g}") for v in t.detach().to(torch.float64).reshape(-1)]


def run(kind, config, steps, step_args, seed, strength=None):
    cls = CLASSES[kind]
    accepted = inspect.signature(cls.__init__).parameters
    config = {k: v for k, v in config.items() if k in accepted}
    assert len(config) >= 7, config
    s = cls(**config)
    s.set_timesteps(steps)
    g = torch.Generator().manual_seed(seed)
    timesteps = s.timesteps
    extra = {}
    if strength is None:
        latents = torch.randn(SHAPE, generator=g) * s.init_noise_sigma
    else:
        # StableDiffusionImg2ImgPipeline.get_timesteps and prepare_latents.
        init_timestep = min(int(steps * strength), steps)
        begin = max(steps - init_timestep, 0) * s.order
        timesteps = s.timesteps[begin:]
        if hasattr(s, "set_begin_index"):
            s.set_begin_index(begin)
        x0 = torch.randn(SHAPE, generator=g)
        noise0 = torch.randn(SHAPE, generator=g)
        latents = s.add_noise(x0, noise0, timesteps[:1])
        extra = {"strength": strength, "begin": begin, "x0": flat(x0), "noise0": flat(noise0)}
    out = {"scheduler": kind, "config": config, "steps": steps, **step_args, **extra,
           "alphas_cumprod": flat(s.alphas_cumprod), "timesteps": flat(s.timesteps),
           "init_noise_sigma": float(s.init_noise_sigma), "initial": flat(latents),
           "scaled_inputs": [], "model_outputs": [], "noises": [], "samples": []}
    if hasattr(s, "sigmas"):
        out["sigmas"] = flat(s.sigmas)
    for t in timesteps:
        out["scaled_inputs"].append(flat(s.scale_model_input(latents, t)))
        model_output = torch.randn(SHAPE, generator=g)
        state = g.get_state()
        noise = torch.randn(SHAPE, generator=g)  # what the step draws next
        g.set_state(state)
        if kind in ("ddim", "pndm"):
            if kind == "ddim":
                latents = s.step(model_output, t, latents, variance_noise=noise
                                 if step_args["eta"] > 0 else None, **step_args).prev_sample
            else:
                latents = s.step(model_output, t, latents).prev_sample
            g.set_state(state)
            torch.randn(SHAPE, generator=g)
        else:
            latents = s.step(model_output, t, latents, generator=g).prev_sample
        out["model_outputs"].append(flat(model_output))
        out["noises"].append(flat(noise))
        out["samples"].append(flat(latents))
    return out


# scheduler_config.json files as checkpoints ship them (Stable Diffusion 1.5,
# and a v-prediction DDIM config in the style of SD 2.x), read by each
# sampler with from_config.
STORED = [
    {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
     "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
     "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
     "trained_betas": None, "clip_sample": False},
    {"_class_name": "DDIMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012,
     "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
     "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": False,
     "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
     "timestep_spacing": "trailing"},
]
FIELDS = ["num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "timestep_spacing",
          "steps_offset", "prediction_type", "clip_sample", "set_alpha_to_one"]


def from_config_cases():
    out = []
    for stored in STORED:
        for kind, cls in CLASSES.items():
            s = cls.from_config(stored)
            s.set_timesteps(40)
            out.append({"stored": json.dumps(stored), "scheduler": kind,
                        "config": {k: s.config[k] for k in FIELDS if k in s.config},
                        "timesteps": flat(s.timesteps)})
    return out


# img2img (GalaxySD's way of fixing over-bright outputs): each sampler from a
# reference noised to the level `strength` asks for.
IMG2IMG = [(kind, dict(SD15, skip_prk_steps=True), steps, args, strength)
           for kind, steps, args, strength in [
               ("euler_a", 40, {}, 0.6), ("euler", 20, {}, 0.75), ("ddim", 20, {"eta": 0.0}, 0.5),
               ("dpmpp_2m", 25, {}, 0.6), ("ddpm", 10, {}, 0.35), ("pndm", 20, {}, 0.6)]]


def main():
    cases = [run(kind, cfg, steps, args, seed=100 + i)
             for i, (kind, cfg, steps, args) in enumerate(CASES)]
    cases += [run(kind, cfg, steps, args, seed=200 + i, strength=strength)
              for i, (kind, cfg, steps, args, strength) in enumerate(IMG2IMG)]
    path = pathlib.Path(__file__).parent / "diffusion" / "schedulers.json"
    path.write_text(json.dumps({"shape": list(SHAPE), "cases": cases,
                                "from_config": from_config_cases()}, separators=(",", ":")))
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
