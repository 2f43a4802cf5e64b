"""torchvision peer of bench/merger: images/s of a backbone's forward pass
(1000-class head, eval mode, torch.inference_mode) on random images, for the
same architecture, image size, batch and thread count as the galaxyml driver.

    peer_torchvision.py --arch resnet18 --size 128 --batch 32 --threads 2 --iters 20
prints one JSON line per memory format (contiguous, channels_last).
"""
import argparse
import json
import time

import torch
import torchvision


def rate(model, x, iters, warmup):
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        best = float("inf")
        # Best of three timed blocks: the machine may be shared.
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(iters):
                model(x)
            best = min(best, time.perf_counter() - t0)
    return x.shape[0] * iters / best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, a.arch)(weights=None).eval()
    if a.channels != 3:
        raise SystemExit("torchvision models take 3 bands")
    x = torch.randn(a.batch, a.channels, a.size, a.size)
    for fmt in ("contiguous", "channels_last"):
        m, xx = model, x
        if fmt == "channels_last":
            m = model.to(memory_format=torch.channels_last)
            xx = x.contiguous(memory_format=torch.channels_last)
        r = rate(m, xx, a.iters, a.warmup)
        print(json.dumps({"peer": f"torchvision {torchvision.__version__} (torch {torch.__version__})",
                          "arch": a.arch, "format": fmt, "size": a.size, "batch": a.batch,
                          "threads": a.threads, "images_per_s": r}))


if __name__ == "__main__":
    main()
