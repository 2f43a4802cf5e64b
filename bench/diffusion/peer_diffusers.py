"""diffusers peer of bench/diffusion: the measurements of bench_diffusion.cpp
with StableDiffusionPipeline, float32 on the CPU, the way users run it
(from_pretrained of the folder, the scheduler swapped with from_config, a
plain pipe(...) call under torch.inference_mode).

    peer_diffusers.py MODEL_DIR SIZE STEPS_A STEPS_B THREADS REPEATS [DTYPE]

DTYPE: float32 (default, as users run it on the CPU) or bfloat16, the
pipeline's torch dtype; the row to set beside galaxyml's bfloat16 format.

One SIZE x SIZE image per call, Euler ancestral, guidance 7.5, medians over
REPEATS:
  encode_s  pipe.encode_prompt of the prompt alone (no classifier-free
            guidance, so one text-encoder pass, as gml_diffusion_encode_prompt);
  step_s    (t(STEPS_B) - t(STEPS_A)) / (STEPS_B - STEPS_A) of whole calls;
  decode_s  t(STEPS_A) - STEPS_A step_s - 2 encode_s: VAE decode, image
            post-processing and per-call overhead;
  tail_s    from the end of the last step (callback_on_step_end) to the
            call's return: the VAE decode and post-processing alone.
Prints one JSON line with the keys of the galaxyml driver.
"""
import importlib.util
import json
import resource
import statistics
import sys
import time

import diffusers
import torch
import transformers
from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionPipeline

PROMPT = "a barred spiral galaxy with tight arms, face-on"  # as bench_diffusion.cpp


def main():
    if len(sys.argv) not in (7, 8):
        sys.exit(f"usage: {sys.argv[0]} MODEL_DIR SIZE STEPS_A STEPS_B THREADS REPEATS [DTYPE]")
    model_dir = sys.argv[1]
    size, steps_a, steps_b, threads, repeats = map(int, sys.argv[2:7])
    dtype_name = sys.argv[7] if len(sys.argv) == 8 else "float32"
    if dtype_name not in ("float32", "bfloat16"):
        sys.exit("peer_diffusers: DTYPE is float32 or bfloat16")
    dtype = getattr(torch, dtype_name)
    if not 1 <= steps_a < steps_b:
        sys.exit("peer_diffusers: need 1 <= STEPS_A < STEPS_B")
    torch.set_num_threads(threads)
    # Progress bars would fill the benchmark's log; warnings still show.
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()

    t0 = time.perf_counter()
    # float32 (diffusers 0.42 names torch_dtype `dtype`). Without the
    # accelerate package, diffusers initialises each model before reading
    # its weights (low_cpu_mem_usage=False), which load_s and peak_rss_mb show.
    pipe = StableDiffusionPipeline.from_pretrained(model_dir, dtype=dtype)
    pipe.scheduler = EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
    load_s = time.perf_counter() - t0
    pipe.set_progress_bar_config(disable=True)

    tails = []

    def txt2img(steps):
        # The same seed in every call: the calls differ only in steps.
        gen = torch.Generator().manual_seed(1)
        step_end = [0.0]

        def on_step_end(pipe_, i, t, kwargs):
            step_end[0] = time.perf_counter()
            return kwargs

        t0 = time.perf_counter()
        out = pipe(PROMPT, height=size, width=size, num_inference_steps=steps,
                   guidance_scale=7.5, generator=gen, output_type="np",
                   callback_on_step_end=on_step_end)
        t1 = time.perf_counter()
        tails.append(t1 - step_end[0])
        return t1 - t0, out.images

    def encode():
        t0 = time.perf_counter()
        pipe.encode_prompt(PROMPT, "cpu", 1, False)
        return time.perf_counter() - t0

    with torch.inference_mode():
        # Warm-up, untimed, as the galaxyml driver does.
        encode()
        txt2img(steps_a)
        encode_s = [encode() for _ in range(repeats)]
        t_a, t_b, step_s = [], [], []
        for _ in range(repeats):
            # A and B back to back, so a change of machine load hits both alike.
            ta, _ = txt2img(steps_a)
            tb, images = txt2img(steps_b)
            t_a.append(ta)
            t_b.append(tb)
            step_s.append((tb - ta) / (steps_b - steps_a))
    step = statistics.median(step_s)
    enc = statistics.median(encode_s)
    ta = statistics.median(t_a)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "engine": "diffusers", "dtype": dtype_name,
        "version": f"diffusers {diffusers.__version__} (torch {torch.__version__})",
        "size": size, "threads": torch.get_num_threads(), "repeats": repeats,
        "steps_a": steps_a, "steps_b": steps_b, "t_a_s": round(ta, 4),
        "t_b_s": round(statistics.median(t_b), 4), "step_s": round(step, 5),
        "encode_s": round(enc, 5), "decode_s": round(ta - steps_a * step - 2 * enc, 4),
        # As bench_diffusion's: measured only where a step outlasts 0.3 s.
        "tail_s": round(statistics.median(tails[1:]), 4) if step > 0.3 else None,
        "load_s": round(load_s, 3),
        "accelerate": importlib.util.find_spec("accelerate") is not None,
        "image_mean": round(float(images.mean()), 4),
        "peak_rss_mb": round(peak_kib / 1024, 1)}))


if __name__ == "__main__":
    main()
