"""Where a guided denoising step spends its time: torch.profiler over the
UNet of a pipeline folder (diffusers' UNet2DConditionModel), one forward on
a batch of 2 (the prompt and the negative prompt), grouped by kind of
kernel. galaxyml's UNet calls the same ATen kernels in the same order
(core/diffusion/unet_blocks.cpp), so the shares describe both engines.

    profile_unet.py MODEL_DIR SIZE THREADS [DTYPE]

Prints one JSON line: total seconds of the profiled forward and, per kind,
seconds and share of the CPU time of the top-level ATen operators.
"""
import json
import sys
import time

import torch
from diffusers import UNet2DConditionModel

KINDS = [  # first match wins; names of top-level ATen operators
    ("convolution", ("aten::conv2d", "aten::convolution", "aten::_convolution")),
    ("attention", ("aten::scaled_dot_product_attention",)),
    ("linear (projections, feed-forward)", ("aten::linear", "aten::addmm", "aten::matmul",
                                            "aten::mm", "aten::bmm")),
    ("group norm", ("aten::group_norm", "aten::native_group_norm")),
    ("layer norm", ("aten::layer_norm", "aten::native_layer_norm")),
    ("activations (SiLU, GELU)", ("aten::silu", "aten::gelu")),
    ("element-wise (add, mul, copies)", ("aten::add", "aten::mul", "aten::copy_",
                                         "aten::contiguous", "aten::clone", "aten::cat",
                                         "aten::upsample_nearest2d", "aten::div")),
]


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(f"usage: {sys.argv[0]} MODEL_DIR SIZE THREADS [DTYPE]")
    model_dir, size, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    dtype = getattr(torch, sys.argv[4] if len(sys.argv) == 5 else "float32")
    torch.set_num_threads(threads)
    unet = UNet2DConditionModel.from_pretrained(model_dir, subfolder="unet", dtype=dtype).eval()
    latent = size // 8
    gen = torch.Generator().manual_seed(0)
    sample = torch.randn(2, unet.config.in_channels, latent, latent, generator=gen).to(dtype)
    context = torch.randn(2, 77, unet.config.cross_attention_dim, generator=gen).to(dtype)
    t = torch.tensor(500.0)
    with torch.inference_mode():
        unet(sample, t, context)  # warm-up: oneDNN primitives for this size
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            unet(sample, t, context)
            total = time.perf_counter() - t0
    # Self CPU time of every event, attributed to the first listed ancestor
    # kind it belongs to, so nested calls are not counted twice.
    seconds = {name: 0.0 for name, _ in KINDS}
    seconds["other"] = 0.0
    for e in prof.events():
        kind = "other"
        node = e
        while node is not None:
            match = next((k for k, names in KINDS if node.name in names), None)
            if match:
                kind = match
            node = node.cpu_parent
        seconds[kind] += e.self_cpu_time_total / 1e6
    cpu = sum(seconds.values())
    print(json.dumps({"size": size, "threads": threads, "dtype": str(dtype).split(".")[-1],
                      "forward_s": round(total, 3),
                      "share": {k: round(v / cpu, 3) for k, v in seconds.items()}}))


if __name__ == "__main__":
    main()
