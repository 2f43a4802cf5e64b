"""Monotonic rational-quadratic splines with identity tails (Durkan et al.
2019), term for term as core/common/rq_spline.cpp computes them, so the
flow and posterior modules evaluate the library's densities.

Parameters per transformed value are packed along the last axis as
[K widths | K heights | K - 1 interior derivatives]. Bin widths and heights
are min + (1 - K min) softmax(.) scaled to 2B; interior derivatives are
min_derivative + softplus(.); the two boundary derivatives are 1.
"""
import torch
import torch.nn.functional as F


def _knots(logits, min_size, bound):
    k = logits.shape[-1]
    sizes = min_size + (1.0 - min_size * k) * torch.softmax(logits, dim=-1)
    cum = F.pad(torch.cumsum(sizes, dim=-1), (1, 0), value=0.0)
    cum = 2 * bound * cum - bound
    # End knots pinned exactly to -B and B, as the library does, so the bin
    # search never misses the last bin through rounding.
    edge = torch.full_like(cum[..., :1], bound)
    cum = torch.cat([-edge, cum[..., 1:k], edge], dim=-1)
    return cum, cum[..., 1:] - cum[..., :-1]


def _pick(t, idx):
    return t.gather(-1, idx).squeeze(-1)


def rq_spline(inputs, params, inverse, tail_bound, min_bin_width=1e-3, min_bin_height=1e-3,
              min_derivative=1e-3):
    """inputs (..., D), params (..., D, 3K - 1) -> (outputs (..., D),
    elementwise log|d output / d input| (..., D)) of the map applied (the
    inverse when `inverse`). Differentiable in every argument."""
    k = (params.shape[-1] + 1) // 3
    b = float(tail_bound)
    inside = (inputs >= -b) & (inputs <= b)
    # Evaluated on clamped inputs everywhere and the tails selected after,
    # so gradients stay finite.
    x = inputs.clamp(-b, b)
    cumwidths, widths = _knots(params[..., :k], min_bin_width, b)
    cumheights, heights = _knots(params[..., k:2 * k], min_bin_height, b)
    derivatives = F.pad(min_derivative + F.softplus(params[..., 2 * k:]), (1, 1), value=1.0)

    locations = cumheights if inverse else cumwidths
    idx = (x.unsqueeze(-1) >= locations[..., 1:k]).sum(-1, keepdim=True)
    in_cumwidths, in_widths = _pick(cumwidths, idx), _pick(widths, idx)
    in_cumheights, in_heights = _pick(cumheights, idx), _pick(heights, idx)
    in_delta = in_heights / in_widths
    d0 = _pick(derivatives, idx)
    d1 = _pick(derivatives[..., 1:], idx)
    slope_sum = d0 + d1 - 2 * in_delta

    if inverse:
        dy = x - in_cumheights
        qa = dy * slope_sum + in_heights * (in_delta - d0)
        qb = in_heights * d0 - dy * slope_sum
        qc = -in_delta * dy
        disc = (qb.pow(2) - 4 * qa * qc).clamp_min(0)
        theta = (2 * qc) / (-qb - disc.sqrt())
        out = theta * in_widths + in_cumwidths
    else:
        theta = (x - in_cumwidths) / in_widths
        t1mt = theta * (1 - theta)
        out = in_cumheights + in_heights * (in_delta * theta.pow(2) + d0 * t1mt) / (
            in_delta + slope_sum * t1mt)
    t1mt = theta * (1 - theta)
    denominator = in_delta + slope_sum * t1mt
    numerator = in_delta.pow(2) * (d1 * theta.pow(2) + 2 * in_delta * t1mt +
                                   d0 * (1 - theta).pow(2))
    logabsdet = numerator.log() - 2 * denominator.log()
    if inverse:
        logabsdet = -logabsdet
    return (torch.where(inside, out, inputs),
            torch.where(inside, logabsdet, torch.zeros_like(logabsdet)))
