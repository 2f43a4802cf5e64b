"""Golden values for the merger CNN backbones (core/merger/nets/),
computed by torchvision's own ResNet and EfficientNet, for
tests/merger/test_backbone_torchvision.cpp.

    .deps/venv/bin/python tests/merger/make_backbone_golden.py
    # writes tests/golden/merger/backbone_golden.json (a few minutes: float64)

For every architecture the file holds
  - parameter_count_1000: the parameter count of the 3-band, 1000-class model;
  - feature_channels: channels of the last feature map;
  - tensors: every parameter and then every buffer of the 3-band, 10-class
    model, in named_parameters() / named_buffers() order, with its shape, its
    fill rule (below) and fan_in;
  - for 3 and 1 input bands (the first convolution rebuilt with one input
    channel): bn_scale (per BatchNorm [m, v]) and logits of the 10-class model
    for deterministic weights and inputs that the C++ test recomputes; no
    weight is stored.

Weights. For tensor k (its index in "tensors") and flat index i, let s be
uniform in [-1, 1): s = 2 u - 1, u the top 53 bits of
splitmix64((k << 32) + i) times 2^-53. Then
    weight (conv, linear)   sqrt(6 / fan_in) s      (He-uniform scale)
    bias (conv, linear)     0.1 s
    bn_weight               1 + 0.2 s
    bn_bias                 0.1 s
    running_mean            m + 0.1 sqrt(v) s
    running_var             v (1 + 0.5 |s|)
    num_batches_tracked     0
where (m, v) are one pair of scalars per BatchNorm layer (bn_scale): the mean
over channels of the per-channel mean and variance of that layer's input, for
the input below, with all earlier layers already set. A pass through the
model in eval mode with a pre-hook on each BatchNorm computes them. Without
them the network either forgets its input or blows up with depth; with them
every layer is roughly normalised, the logits depend on every layer, and a
float32 forward stays within ~1e-5 of the float64 one.

Input (2, C, 64, 64), flat index i: x = sin(0.01 i) + 0.5 s_i, with s from
stream k = 1000.

Logits are computed in float64, eval mode.
"""
import json
import math
import pathlib

import numpy as np
import torch
import torchvision
from torch import nn

ARCHS = ["resnet18", "resnet34", "resnet50", "efficientnet_b0", "efficientnet_b1",
         "efficientnet_b2", "efficientnet_b3", "efficientnet_b4"]
NUM_CLASSES = 10
SIZE = 64
INPUT_STREAM = 1000  # the hash stream k of the input noise


def build(arch, in_channels, num_classes):
    model = getattr(torchvision.models, arch)(num_classes=num_classes)
    if in_channels != 3:
        old = model.conv1 if arch.startswith("resnet") else model.features[0][0]
        new = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                        bias=old.bias is not None)
        if arch.startswith("resnet"):
            model.conv1 = new
        else:
            model.features[0][0] = new
    return model


def tensor_list(model):
    """(name, tensor, kind, fill rule, fan_in) in the order the file lists."""
    owners = dict(model.named_modules())
    out = []
    for kind, named in (("parameter", model.named_parameters()), ("buffer", model.named_buffers())):
        for name, t in named:
            owner_name, _, leaf = name.rpartition(".")
            if isinstance(owners[owner_name], nn.BatchNorm2d):
                rule = {"weight": "bn_weight", "bias": "bn_bias"}.get(leaf, leaf)
            else:
                rule = leaf
            fan_in = t[0].numel() if rule == "weight" else 0
            out.append((name, t, kind, rule, fan_in))
    return out


def splitmix64(x):
    """splitmix64 of a uint64 array (wrapping arithmetic, as in C)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform_pm1(k, n):
    """n values in [-1, 1): 2 u - 1, u the top 53 bits of
    splitmix64((k << 32) + i) for i = 0 .. n-1, as float64."""
    i = np.arange(n, dtype=np.uint64) + (np.uint64(k) << np.uint64(32))
    u = (splitmix64(i) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return 2.0 * u - 1.0


def fill(model):
    """The deterministic weights, with running statistics for m = 0, v = 1."""
    with torch.no_grad():
        for k, (name, t, _, rule, fan_in) in enumerate(tensor_list(model)):
            if rule == "num_batches_tracked":
                continue
            s = torch.from_numpy(uniform_pm1(k, t.numel())).reshape(t.shape)
            v = {"weight": lambda: math.sqrt(6.0 / max(fan_in, 1)) * s,
                 "bias": lambda: 0.1 * s,
                 "bn_weight": lambda: 1 + 0.2 * s,
                 "bn_bias": lambda: 0.1 * s,
                 "running_mean": lambda: 0.1 * s,
                 "running_var": lambda: 1 + 0.5 * s.abs()}[rule]()
            t.copy_(v)


def scale_batchnorms(model, x):
    """Sets each BatchNorm's (m, v) from its input, in forward order."""
    scales = {}
    names = {mod: name for name, mod in model.named_modules()}

    def hook(bn, inputs):
        h = inputs[0]
        m = h.mean(dim=(0, 2, 3)).mean().item()
        v = h.var(dim=(0, 2, 3)).mean().item()
        scales[names[bn]] = [m, v]
        bn.running_var.mul_(v)
        bn.running_mean.mul_(math.sqrt(v)).add_(m)

    handles = [mod.register_forward_pre_hook(hook) for mod in model.modules()
               if isinstance(mod, nn.BatchNorm2d)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return scales


def input_image(channels):
    n = 2 * channels * SIZE * SIZE
    smooth = torch.sin(0.01 * torch.arange(n, dtype=torch.float64))
    noise = torch.from_numpy(uniform_pm1(INPUT_STREAM, n))
    return (smooth + 0.5 * noise).reshape(2, channels, SIZE, SIZE)


def main():
    torch.set_num_threads(2)
    doc = {"torch_version": torch.__version__, "torchvision_version": torchvision.__version__,
           "num_classes": NUM_CLASSES, "image_size": SIZE, "input_stream": INPUT_STREAM,
           "models": {}}
    for arch in ARCHS:
        full = build(arch, 3, 1000)
        entry = {"parameter_count_1000": sum(p.numel() for p in full.parameters()),
                 "feature_channels": full.fc.in_features if arch.startswith("resnet")
                 else full.classifier[1].in_features}
        for channels in (3, 1):
            model = build(arch, channels, NUM_CLASSES).double().eval()
            if channels == 3:
                entry["tensors"] = [{"name": n, "shape": list(t.shape), "kind": kind,
                                     "fill": rule, "fan_in": fan_in}
                                    for n, t, kind, rule, fan_in in tensor_list(model)]
            fill(model)
            x = input_image(channels)
            entry[f"bn_scale_{channels}"] = scale_batchnorms(model, x)
            with torch.no_grad():
                logits = model(x)
            entry[f"logits_{channels}"] = logits.flatten().tolist()
            print(f"{arch} C={channels}: logits max {logits.abs().max():.3g}, "
                  f"image 0 - image 1 {(logits[0] - logits[1]).abs().max():.3g}")
        doc["models"][arch] = entry
    out = pathlib.Path(__file__).resolve().parents[1] / "golden" / "merger" / "backbone_golden.json"
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print("wrote", out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
