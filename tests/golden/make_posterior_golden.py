"""Golden values for the posterior family's flows, from nflows and sbi.

Builds small nflows flows with the layouts galaxyml's PosteriorFlow uses:
per block, a MADE-based autoregressive transform with sequential masks,
no residual blocks, tanh, then a RandomPermutation (MAF, autoregressive
NSF); or sbi's NSF as sbi.neural_nets.net_builders.build_nsf makes it (a
spline coupling on alternate dimensions with a ResidualNet conditioner,
then LULinear; with one dimension, sbi's ContextSplineMap). Exports every
weight under galaxyml's parameter names, and records log q(theta | x) and
the inverse map z -> theta for fixed inputs. Run from the repository root:

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
from nflows.nn.nets import ResidualNet
from nflows.transforms import LULinear, PiecewiseRationalQuadraticCouplingTransform
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


def build_coupling(d, c, hidden, blocks, residual_blocks, bins, bound):
    """sbi 0.27's build_nsf without its z-scoring (galaxyml's is separate)."""
    from sbi.neural_nets.net_builders.flow import ContextSplineMap
    from nflows.utils import create_alternating_binary_mask
    layers = []
    for i in range(blocks):
        if d == 1:
            net = lambda i_, o_: ContextSplineMap(i_, o_, hidden_features=hidden,
                                                  context_features=c, hidden_layers=1)
            mask = torch.tensor([1], dtype=torch.uint8)
        else:
            net = lambda i_, o_: ResidualNet(i_, o_, hidden_features=hidden, context_features=c,
                                             num_blocks=residual_blocks,
                                             activation=torch.relu)
            mask = create_alternating_binary_mask(features=d, even=(i % 2 == 0))
        layers.append(PiecewiseRationalQuadraticCouplingTransform(
            mask=mask, transform_net_create_fn=net, num_bins=bins, tails="linear",
            tail_bound=bound, apply_unconditional_transform=False))
        if d > 1:
            layers.append(LULinear(d, identity_init=True))
    return Flow(CompositeTransform(layers), StandardNormal([d]))


def export_coupling(flow):
    """nflows/sbi parameter names -> galaxyml's (core/posterior/spline_coupling.h)."""
    out = {}
    b = -1
    def put(name, layer):
        out[f"blocks.{b}.{name}_weight"] = layer.weight.detach().double().flatten().tolist()
        out[f"blocks.{b}.{name}_bias"] = layer.bias.detach().double().flatten().tolist()
    for t in flow._transform._transforms:
        if isinstance(t, LULinear):
            out[f"blocks.{b}.lu_lower"] = t.lower_entries.detach().double().tolist()
            out[f"blocks.{b}.lu_upper"] = t.upper_entries.detach().double().tolist()
            out[f"blocks.{b}.lu_diag"] = t.unconstrained_upper_diag.detach().double().tolist()
            out[f"blocks.{b}.lu_bias"] = t.bias.detach().double().tolist()
            continue
        b += 1
        net = t.transform_net
        if isinstance(net, ResidualNet):
            put("initial", net.initial_layer)
            for k, blk in enumerate(net.blocks):
                put(f"residual{k}_context", blk.context_layer)
                put(f"residual{k}_first", blk.linear_layers[0])
                put(f"residual{k}_second", blk.linear_layers[1])
            put("final", net.final_layer)
        else:
            seq = net.spline_predictor
            put("initial", seq[0])
            put("hidden", seq[2])
            put("final", seq[4])
    return out


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
         n=40, coupling=False):
    torch.manual_seed(seed)
    if coupling:
        flow = build_coupling(d, c, hidden, blocks, made_blocks, bins, bound)
    else:
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
            "coupling": coupling,
            "parameters": export_coupling(flow) if coupling else export(flow, made_blocks)}


def main():
    cases = [case("maf_d3", "maf", 11), case("maf_d5_depth3", "maf", 12, d=5, c=3,
                                            made_blocks=3),
             case("nsf_d3", "nsf", 13), case("maf_d1", "maf", 14, d=1),
             case("nsf_coupling_d3", "nsf", 15, blocks=4, coupling=True),
             case("nsf_coupling_d4_wide_tails", "nsf", 16, d=4, c=3, blocks=3, made_blocks=1,
                  bins=5, bound=2.0, coupling=True),
             case("nsf_coupling_d1", "nsf", 17, d=1, blocks=2, coupling=True)]
    doc = {"generator": "tests/golden/make_posterior_golden.py",
           "nflows": importlib.metadata.version("nflows"),
           "sbi": importlib.metadata.version("sbi"), "torch": torch.__version__, "cases": cases}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
