"""An independent PyTorch implementation of the published GalacticFlow model
(NSFlow of GLOW 1x1 convolutions and NSF_CL2 double spline couplings, and the
processor's log10 + z-score preprocessing), written from its equations, with
the module names of its state_dict so that its checkpoints have the published
layout. The tests use it as the reference that converted galaxyml files must
reproduce; it is not part of the package.

Densities here are the correctly normalised ones in the user's units:
log N(z) + log|det dz/du| - sum(log std of the data columns)
- sum(log(x ln 10)) over the log10 data columns.
"""
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """n_layers Linear layers, each followed by LeakyReLU (the last too)."""

    def __init__(self, n_in, n_out, n_hidden, n_layers, neg_slope):
        super().__init__()
        widths = [n_in] + [n_hidden] * (n_layers - 1) + [n_out]
        modules = []
        for a, b in zip(widths[:-1], widths[1:]):
            modules += [nn.Linear(a, b), nn.LeakyReLU(neg_slope)]
        self.network = nn.Sequential(*modules)

    def forward(self, x):
        return self.network(x)


class GlowConv(nn.Module):
    """y = x W with W = P (tril(L, -1) + I) (triu(U, 1) + diag(S))."""

    def __init__(self, dim, generator):
        super().__init__()
        q, r = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
        q = q * torch.sign(torch.diagonal(r))
        p, lower, upper = torch.linalg.lu(q)
        self.register_buffer("P", p.float())
        self.S = nn.Parameter(torch.diagonal(upper).float().clone())
        self.L = nn.Parameter(lower.float())
        self.U = nn.Parameter(torch.triu(upper, 1).float())

    def weight(self):
        eye = torch.eye(self.S.shape[0], dtype=self.S.dtype)
        upper = torch.triu(self.U, 1) + torch.diag(self.S)
        return self.P @ (torch.tril(self.L, -1) + eye) @ upper

    def forward(self, x):
        return x @ self.weight(), torch.log(torch.abs(self.S)).sum().expand(x.shape[0])

    def inverse(self, y):
        return y @ torch.linalg.inv(self.weight()), \
            -torch.log(torch.abs(self.S)).sum().expand(y.shape[0])


def spline(x, raw, bound, inverse=False):
    """Monotonic rational-quadratic spline on [-bound, bound], identity
    outside (Durkan et al. 2019). raw (..., 3K - 1): K width logits, K height
    logits, K - 1 interior derivative pre-activations. Returns (out, log|det|)
    elementwise."""
    k = (raw.shape[-1] + 1) // 3
    widths = F.softmax(raw[..., :k], dim=-1) * 2 * bound
    heights = F.softmax(raw[..., k:2 * k], dim=-1) * 2 * bound
    derivs = F.pad(F.softplus(raw[..., 2 * k:]), (1, 1), value=1.0)
    knots_x = F.pad(torch.cumsum(widths, -1), (1, 0)) - bound
    knots_y = F.pad(torch.cumsum(heights, -1), (1, 0)) - bound
    knots_x[..., -1] = bound
    knots_y[..., -1] = bound
    inside = (x >= -bound) & (x <= bound)
    xin = torch.where(inside, x, torch.zeros_like(x))
    knots = knots_y if inverse else knots_x
    idx = (xin.unsqueeze(-1) >= knots[..., 1:-1]).sum(-1, keepdim=True)

    def at(t, shift=0):
        return t.gather(-1, idx + shift).squeeze(-1)

    x0, x1, y0, y1 = at(knots_x), at(knots_x, 1), at(knots_y), at(knots_y, 1)
    d0, d1 = at(derivs), at(derivs, 1)
    s = (y1 - y0) / (x1 - x0)
    if inverse:
        dy = xin - y0
        a = (y1 - y0) * (s - d0) + dy * (d1 + d0 - 2 * s)
        b = (y1 - y0) * d0 - dy * (d1 + d0 - 2 * s)
        c = -s * dy
        xi = 2 * c / (-b - torch.sqrt(b * b - 4 * a * c))
        out = x0 + xi * (x1 - x0)
    else:
        xi = (xin - x0) / (x1 - x0)
        out = y0 + (y1 - y0) * (s * xi ** 2 + d0 * xi * (1 - xi)) / \
            (s + (d1 + d0 - 2 * s) * xi * (1 - xi))
    denom = s + (d1 + d0 - 2 * s) * xi * (1 - xi)
    log_dydx = torch.log(s ** 2 * (d1 * xi ** 2 + 2 * s * xi * (1 - xi) + d0 * (1 - xi) ** 2)) \
        - 2 * torch.log(denom)
    logdet = -log_dydx if inverse else log_dydx
    return torch.where(inside, out, x), torch.where(inside, logdet, torch.zeros_like(x))


class NSFCL2(nn.Module):
    """Double coupling: columns [D/2, D) first, given [0, D/2), then
    [0, D/2) given the new [D/2, D); parameters net_cond(c) * net(half)."""

    def __init__(self, dim, dim_cond, K, B, network_args):
        super().__init__()
        self.split, self.K, self.B = dim // 2, K, B
        out = (3 * K - 1) * self.split
        self.net1 = MLP(self.split, out, *network_args)
        self.net2 = MLP(self.split, out, *network_args)
        self.net_cond1 = MLP(dim_cond, out, *network_args)
        self.net_cond2 = MLP(dim_cond, out, *network_args)

    def _theta(self, net, net_cond, given, c):
        return (net_cond(c) * net(given)).reshape(-1, self.split, 3 * self.K - 1)

    def forward(self, x, c):
        a, b = x[:, self.split:], x[:, :self.split]
        a, ld1 = spline(a, self._theta(self.net1, self.net_cond1, b, c), self.B)
        b, ld2 = spline(b, self._theta(self.net2, self.net_cond2, a, c), self.B)
        return torch.cat([b, a], 1), ld1.sum(-1) + ld2.sum(-1)

    def inverse(self, y, c):
        a, b = y[:, self.split:], y[:, :self.split]
        b, ld2 = spline(b, self._theta(self.net2, self.net_cond2, a, c), self.B, inverse=True)
        a, ld1 = spline(a, self._theta(self.net1, self.net_cond1, b, c), self.B, inverse=True)
        return torch.cat([b, a], 1), ld1.sum(-1) + ld2.sum(-1)


class NSFlow(nn.Module):
    """layers = [conv_0, coupling_0, conv_1, coupling_1, ...]; forward is
    data -> latent."""

    def __init__(self, n_layers, dim_notcond, dim_cond, K, B, network_args, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        layers = []
        for _ in range(n_layers):
            layers += [GlowConv(dim_notcond, g),
                       NSFCL2(dim_notcond, dim_cond, K, B, network_args)]
        self.layers = nn.ModuleList(layers)
        self.hyper = {"n_layers": n_layers, "dim_notcond": dim_notcond, "dim_cond": dim_cond,
                      "CL": "NSF_CL2", "K": K, "B": B, "network": "MLP",
                      "network_args": tuple(network_args)}

    def forward(self, x, c):
        logdet = torch.zeros(x.shape[0], dtype=x.dtype)
        for i, layer in enumerate(self.layers):
            x, ld = layer(x) if i % 2 == 0 else layer(x, c)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, z, c):
        logdet = torch.zeros(z.shape[0], dtype=z.dtype)
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            z, ld = layer.inverse(z) if i % 2 == 0 else layer.inverse(z, c)
            logdet = logdet + ld
        return z, logdet

    def perturb(self, scale, seed, output_gain=3.0):
        """Moves every parameter off its initialisation so that the splines
        bend (spline parameters of order one instead of near zero, where all
        bins are equal) and the convolutions are not rotations."""
        g = torch.Generator().manual_seed(seed)
        n_linear = len(self.layers[1].net1.network) // 2
        last = f".network.{2 * (n_linear - 1)}."
        with torch.no_grad():
            for name, p in self.named_parameters():
                noise = torch.randn(p.shape, generator=g, dtype=p.dtype)
                if name.endswith(".S"):
                    p.mul_(torch.exp(0.3 * noise))
                elif name.endswith((".L", ".U")):
                    p.add_(0.3 * noise)
                else:
                    p.add_(scale * noise)
                    if last in name:
                        p.mul_(output_gain)
        return self


class Preprocessing:
    """The processor's per-column statistics over the full per-star array
    (data and condition columns): log10 on `log_columns`, then z-score."""

    def __init__(self, total, cond_inds, log_columns, mean, std):
        self.cond_inds = list(cond_inds)
        self.data_inds = [i for i in range(total) if i not in self.cond_inds]
        self.log_columns = set(log_columns)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)

    @classmethod
    def fit(cls, full, cond_inds, log_columns):
        v = np.array(full, dtype=np.float64)
        for i in log_columns:
            v[:, i] = np.log10(v[:, i])
        t = torch.from_numpy(v).float()
        # torch's float32 mean and (unbiased) std, as the processor stores them.
        return cls(full.shape[1], cond_inds, log_columns, t.mean(0).double().numpy(),
                   t.std(0).double().numpy())

    def _forward(self, values, columns):
        v = np.array(values, dtype=np.float64)
        for j, i in enumerate(columns):
            if i in self.log_columns:
                v[:, j] = np.log10(v[:, j])
        return (v - self.mean[columns]) / self.std[columns]

    def data(self, stars):
        return self._forward(stars, self.data_inds)

    def conditions(self, conditions):
        return self._forward(conditions, self.cond_inds)

    def data_inverse(self, u):
        v = u * self.std[self.data_inds] + self.mean[self.data_inds]
        for j, i in enumerate(self.data_inds):
            if i in self.log_columns:
                v[:, j] = 10.0 ** v[:, j]
        return v

    def data_log_jacobian(self, stars):
        """log|du/dx| of the preprocessing of each star (user units)."""
        out = -np.sum(np.log(self.std[self.data_inds])) * np.ones(len(stars))
        for j, i in enumerate(self.data_inds):
            if i in self.log_columns:
                out -= np.log(stars[:, j] * math.log(10.0))
        return out


class Reference:
    """A flow and its preprocessing: densities and samples in user units,
    computed in float64."""

    def __init__(self, flow, prep):
        self.flow = flow
        self.prep = prep

    def _double(self):
        import copy
        return copy.deepcopy(self.flow).double().eval()

    def log_prob(self, stars, conditions):
        flow = self._double()
        u = torch.from_numpy(self.prep.data(stars))
        c = torch.from_numpy(self.prep.conditions(conditions))
        with torch.no_grad():
            z, logdet = flow(u, c)
        base = -0.5 * (z ** 2).sum(-1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
        return (base + logdet).numpy() + self.prep.data_log_jacobian(stars)

    def published_log_prob(self, stars, conditions):
        """What the published processor's log_prob equations give: the
        z-score term summed over every column, conditions included, and the
        log10 Jacobian -log(v ln 10) evaluated at the already transformed
        value v = log10(x) instead of at x."""
        flow_part = self.log_prob(stars, conditions) - self.prep.data_log_jacobian(stars)
        out = flow_part - np.sum(np.log(self.prep.std))
        with np.errstate(invalid="ignore", divide="ignore"):
            for j, i in enumerate(self.prep.data_inds):
                if i in self.prep.log_columns:
                    out -= np.log(np.log10(stars[:, j]) * math.log(10.0))
        return out

    def sample(self, conditions, n_per_galaxy, seed):
        flow = self._double()
        g = torch.Generator().manual_seed(seed)
        cond = np.repeat(np.asarray(conditions, dtype=np.float64), n_per_galaxy, axis=0)
        c = torch.from_numpy(self.prep.conditions(cond))
        z = torch.randn(len(cond), len(self.prep.data_inds), generator=g, dtype=torch.float64)
        with torch.no_grad():
            u, _ = flow.inverse(z, c)
        return self.prep.data_inverse(u.numpy())

    def checkpoint(self, **overrides):
        """The definition dict of GalacticFlow's API for this model."""
        total = len(self.prep.mean)
        logs = sorted(self.prep.log_columns)
        definition = {
            "processor": "Processor_cond",
            "processor_args": {},
            "processor_data": {"folder": "all_sims"},
            "cond_inds": torch.tensor(self.prep.cond_inds),
            "flow_hyper": dict(self.flow.hyper),
            "subset_params": {"cond_fn": "cond_M_stars_2age_avZ", "use_fn": "MW_like_galaxy",
                              "train_use_fn_constructor": "construct_MW_like_galaxy_leavout",
                              "leavout_indices": None},
            "data_prep_args": {"transformation_functions": ("np.log10",),
                               "transformation_indices": (torch.tensor(logs),),
                               "inverse_transformations": ("10**x",)},
            "std": torch.from_numpy(self.prep.std.astype(np.float32)),
            "mean": torch.from_numpy(self.prep.mean.astype(np.float32)),
            "flow_dict": {k: v.detach().clone() for k, v in self.flow.state_dict().items()},
        }
        assert total == self.flow.hyper["dim_notcond"] + self.flow.hyper["dim_cond"]
        definition.update(overrides)
        return definition


def train(reference, stars, conditions, steps, batch_size, lr, seed):
    """Maximum likelihood on normalised data with Adam; returns the losses."""
    g = torch.Generator().manual_seed(seed)
    u = torch.from_numpy(reference.prep.data(stars)).float()
    c = torch.from_numpy(reference.prep.conditions(conditions)).float()
    opt = torch.optim.Adam(reference.flow.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, len(u), (batch_size,), generator=g)
        z, logdet = reference.flow(u[idx], c[idx])
        loss = -(-0.5 * (z ** 2).sum(-1) + logdet).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
