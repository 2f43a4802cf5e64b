"""Golden values for the posterior family's autoregressive flows, from nflows.

Builds small nflows flows with the layout galaxyml's PosteriorFlow uses
(per block: a MADE-based autoregressive transform with sequential masks,
no residual blocks, tanh, then a RandomPermutation), exports every weight
under galaxyml's parameter names, and records log q(theta | x) and the
inverse map z -> theta for fixed inputs. Run from the repository root:

    .deps/venv/bin/python tests/golden/make_posterior_golden.py

writes tests/golden/posterior/nflows_golden.json.
"""
import importlib.metadata
import json
import pathlib


import numpy as np
import torch
from nflows.distributions.normal import StandardNormal
from nflows.flows.base import Flow
from nflows.transforms import CompositeTransform, RandomPermutation
from nflows.transforms.autoregressive import (
    MaskedAffineAutoregressiveTransform,
    MaskedPiecewiseRationalQuadraticAutoregressiveTransform)

OUT = pathlib.Path(__file__).resolve().parent / "posterior" / "nflows_golden.json"


def build(kind, d, c, hidden, blocks, made_blocks, bins, bound):
    layers = []
    for _ in range(blocks):
        common = dict(features=d, hidden_features=hidden, context_features=c,
                      num_blocks=made_blocks, use_residual_blocks=False, random_mask=False,
                      activation=torch.tanh, dropout_probability=0.0, use_batch_norm=False)
        if kind == "maf":
            t = MaskedAffineAutoregressiveTransform(**common)
        else:
            t = MaskedPiecewiseRationalQuadraticAutoregressiveTransform(
                num_bins=bins, tails="linear", tail_bound=bound, **common)
        layers += [t, RandomPermutation(features=d)]
    return Flow(CompositeTransform(layers), StandardNormal([d]))


def export(flow, made_blocks):
    """nflows parameter names -> galaxyml's (core/posterior/made.h)."""
    out = {}
    b = 0
    for t in flow._transform._transforms:
        if isinstance(t, RandomPermutation):
            out[f"permutation{b}"] = t._permutation.double().tolist()
            b += 1
            continue
        net = t.autoregressive_net
        names = {"input": net.initial_layer, "output": net.final_layer,
                 "context": net.context_layer}
        for i, blk in enumerate(net.blocks):
            names[f"block{i}"] = blk.linear
        for name, layer in names.items():
            out[f"blocks.{b}.{name}_weight"] = layer.weight.detach().double().flatten().tolist()
            out[f"blocks.{b}.{name}_bias"] = layer.bias.detach().double().flatten().tolist()
    return out


def case(name, kind, seed, d=3, c=2, hidden=16, blocks=3, made_blocks=2, bins=6, bound=3.0,
         n=40):
    torch.manual_seed(seed)
    flow = build(kind, d, c, hidden, blocks, made_blocks, bins, bound)
    # Move the weights away from nflows' near-identity initialisation.
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    flow = flow.double()
    g = torch.Generator().manual_seed(seed + 1)
    theta = torch.randn(n, d, generator=g, dtype=torch.float64) * 1.5
    x = torch.randn(n, c, generator=g, dtype=torch.float64)
    z = torch.randn(n, d, generator=g, dtype=torch.float64)
    with torch.no_grad():
        lp = flow.log_prob(theta, context=x)
        inv, _ = flow._transform.inverse(z, context=x)
    return {"name": name, "estimator": kind, "theta_dim": d, "x_dim": c, "hidden_width": hidden,
            "num_blocks": blocks, "made_blocks": made_blocks, "num_bins": bins,
            "tail_bound": bound, "n": n, "theta": theta.flatten().tolist(),
            "x": x.flatten().tolist(), "z": z.flatten().tolist(),
            "log_prob": lp.tolist(), "inverse": inv.flatten().tolist(),
            "parameters": export(flow, made_blocks)}


def main():
    cases = [case("maf_d3", "maf", 11), case("maf_d5_depth3", "maf", 12, d=5, c=3,
                                            made_blocks=3),
             case("nsf_d3", "nsf", 13), case("maf_d1", "maf", 14, d=1)]
    doc = {"generator": "tests/golden/make_posterior_golden.py",
           "nflows": importlib.metadata.version("nflows"), "torch": torch.__version__, "cases": cases}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
