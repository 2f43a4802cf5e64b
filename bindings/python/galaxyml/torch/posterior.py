"""The posterior family (docs/posterior.md) as a PyTorch module.

    post = galaxyml.torch.load("posterior.h5")       # a PosteriorModule
    logq = post.log_prob(theta, x)                   # differentiable
    theta = post.sample(x, 1000)                     # (n_obs, 1000, theta_dim)

q(theta | x) is a stack of MADE blocks (core/posterior/made.cpp), affine
(MAF) or rational-quadratic (NSF), each followed by a fixed permutation of
theta's columns, or sbi's NSF (config "coupling": spline couplings with
residual conditioners and an LU-linear layer after each,
core/posterior/spline_coupling.cpp), on z-scored theta and x. Parameter and
buffer names are those of the model file (blocks.0.input_weight,
permutation0, theta_mean, ...), so state_dict() holds exactly the file's
arrays.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import model_file
from ..errors import FormatError
from ._base import GalaxymlModule, as_tensor, check_config
from ._spline import rq_spline

# Every key of core/posterior/posterior_config.cpp with its default.
POSTERIOR_CONFIG_DEFAULTS = {
    "estimator": "maf", "theta_dim": 1, "x_dim": 1, "num_blocks": 15, "hidden_width": 500,
    "made_blocks": 2, "activation": "tanh", "num_bins": 8, "tail_bound": 3.0,
    "prior_lower": [], "prior_upper": [], "theta_names": [], "x_names": [], "observation": "",
    "bounded_theta": False, "coupling": False,
}
_LU_EPS = 1e-3

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_MASK64 = (1 << 64) - 1
# Draws per latent stream of one observation (the library's kStreamChunk).
STREAM_CHUNK_ROWS = 1 << 20


def stream_seed(seed, row, chunk):
    """The library's per-observation stream seed (core/posterior/
    posterior_sampling.cpp): splitmix64 of (seed, row, chunk)."""
    z = (seed + 0x9E3779B97F4A7C15 * (row + 1)) & _MASK64
    if chunk > 0:
        z ^= (0xD1B54A32D192ED03 * chunk) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _hidden_degrees(hidden, features):
    hi, lo = max(1, features - 1), min(1, features - 1)
    return [j % hi + lo for j in range(hidden)]


class Made(nn.Module):
    """nflows' MADE with sequential degrees and the context added to the
    first hidden layer: h0 = act(W0 x + b0 + act(Wc c + bc)),
    h = act(Wb h + bb) per block, out = Wo h + bo, `multiplier` outputs per
    feature, feature-major. Masks are buffers, as in the file."""

    def __init__(self, features, context, hidden, blocks, multiplier, activation):
        super().__init__()
        self.activation = torch.tanh if activation == "tanh" else torch.relu
        self.layer_names = ["input"] + [f"block{b}" for b in range(blocks)] + ["output"]
        inputs = list(range(1, features + 1))
        degrees = _hidden_degrees(hidden, features)
        outputs = [i for i in inputs for _ in range(multiplier)]
        shapes = [(degrees, inputs, False)] + [(degrees, degrees, False)] * blocks + \
            [(outputs, degrees, True)]
        for name, (out_deg, in_deg, strict) in zip(self.layer_names, shapes):
            o = torch.tensor(out_deg).unsqueeze(1)
            i = torch.tensor(in_deg).unsqueeze(0)
            mask = (o > i) if strict else (o >= i)
            setattr(self, name + "_weight", nn.Parameter(torch.zeros(len(out_deg), len(in_deg))))
            setattr(self, name + "_bias", nn.Parameter(torch.zeros(len(out_deg))))
            self.register_buffer(name + "_mask", mask.to(torch.float32))
        self.context_weight = nn.Parameter(torch.zeros(hidden, context))
        self.context_bias = nn.Parameter(torch.zeros(hidden))

    def _layer(self, name, h):
        w = getattr(self, name + "_weight")
        return F.linear(h, w * getattr(self, name + "_mask").to(w.dtype),
                        getattr(self, name + "_bias"))

    def forward(self, inputs, context):
        act = self.activation
        h = act(self._layer("input", inputs) +
                act(F.linear(context, self.context_weight, self.context_bias)))
        for name in self.layer_names[1:-1]:
            h = act(self._layer(name, h))
        return self._layer("output", h)


class SplineCoupling(nn.Module):
    """One coupling of sbi's NSF as core/posterior/spline_coupling.cpp
    computes it: even blocks transform columns 0, 2, ..., odd ones 1, 3, ...
    with splines whose parameters come from a residual network of the
    other columns and x; then y = L (U v) + bias. One theta dimension: the
    spline comes from x alone (Linear-act-Linear-act-Linear), no LU."""

    def __init__(self, d, c, hidden, residual_blocks, bins, tail_bound, even, activation):
        super().__init__()
        self.act = torch.tanh if activation == "tanh" else torch.relu
        self.bins, self.tail_bound, self.hidden = bins, tail_bound, hidden
        cols = list(range(d))
        self.transform_cols = cols if d == 1 else [i for i in cols if (i % 2 == 0) == even]
        self.identity_cols = [] if d == 1 else [i for i in cols if (i % 2 == 0) != even]
        n_id, n_out = len(self.identity_cols), len(self.transform_cols) * (3 * bins - 1)
        self.residual_blocks = 0 if n_id == 0 else residual_blocks

        def linear(name, out, inp):
            setattr(self, name + "_weight", nn.Parameter(torch.zeros(out, inp)))
            setattr(self, name + "_bias", nn.Parameter(torch.zeros(out)))

        if n_id == 0:
            linear("initial", hidden, c)
            linear("hidden", hidden, hidden)
        else:
            linear("initial", hidden, n_id + c)
            for k in range(residual_blocks):
                for part in ("context", "first", "second"):
                    linear(f"residual{k}_{part}", hidden, c if part == "context" else hidden)
            tri = d * (d - 1) // 2
            self.lu_lower = nn.Parameter(torch.zeros(tri))
            self.lu_upper = nn.Parameter(torch.zeros(tri))
            self.lu_diag = nn.Parameter(torch.full((d,), math.log(math.expm1(1 - _LU_EPS))))
            self.lu_bias = nn.Parameter(torch.zeros(d))
        linear("final", n_out, hidden)

    def _lin(self, name, h):
        return F.linear(h, getattr(self, name + "_weight"), getattr(self, name + "_bias"))

    def _params(self, identity, context):
        act = self.act
        if not self.identity_cols:
            h = self._lin("final", act(self._lin("hidden", act(self._lin("initial", context)))))
        else:
            h = self._lin("initial", torch.cat([identity, context.expand(identity.shape[0], -1)],
                                               1))
            for k in range(self.residual_blocks):
                t = self._lin(f"residual{k}_second", act(self._lin(f"residual{k}_first", act(h))))
                h = h + t * torch.sigmoid(self._lin(f"residual{k}_context", context))
            h = self._lin("final", h)
        k = self.bins
        p = h.reshape(h.shape[0], len(self.transform_cols), 3 * k - 1)
        s = 1.0 / math.sqrt(self.hidden)
        return torch.cat([p[..., :2 * k] * s, p[..., 2 * k:]], -1)

    def _lower_upper(self):
        d = self.lu_diag.shape[0]
        lower = torch.eye(d, dtype=self.lu_lower.dtype, device=self.lu_lower.device)
        i, j = torch.tril_indices(d, d, -1)
        lower = lower.index_put((i, j), self.lu_lower)
        upper = torch.diag(F.softplus(self.lu_diag) + _LU_EPS)
        i, j = torch.triu_indices(d, d, 1)
        return lower, upper.index_put((i, j), self.lu_upper)

    def _couple(self, v, context, inverse):
        """The spline (or its inverse) of the transformed columns of v."""
        ti = self.transform_cols
        identity = v[:, self.identity_cols] if self.identity_cols else None
        params = self._params(identity, context)
        if context.shape[0] == 1 and params.shape[0] != v.shape[0]:
            params = params.expand(v.shape[0], -1, -1)
        out, lad = rq_spline(v[:, ti], params, inverse, self.tail_bound)
        return v.index_copy(1, torch.tensor(ti, device=v.device), out), lad.sum(1)

    def forward(self, v, context):
        y, logdet = self._couple(v, context, False)
        if not self.identity_cols:
            return y, logdet
        lower, upper = self._lower_upper()
        y = F.linear(F.linear(y, upper), lower, self.lu_bias)
        return y, logdet + torch.log(F.softplus(self.lu_diag) + _LU_EPS).sum()

    def inverse(self, y, context):
        v = y
        if self.identity_cols:
            lower, upper = self._lower_upper()
            v = torch.linalg.solve_triangular(lower.t(), y - self.lu_bias, upper=True,
                                              left=False, unitriangular=True)
            v = torch.linalg.solve_triangular(upper.t(), v, upper=False, left=False)
        return self._couple(v, context, True)[0]


class PosteriorModule(GalaxymlModule):
    """q(theta | x) of a galaxyml posterior model file.

    Computes the network in the dtype of its parameters (float32 as
    stored; call .double() for float64); the z-scores (buffers theta_mean,
    theta_std, x_mean, x_std, float64) are applied in float64. The prior
    box is kept in the non-persistent buffers prior_lower/prior_upper
    (empty when unbounded); x_train_min/max hold the training range of x
    when the file has it."""

    family = "posterior"

    def __init__(self, config, training_range=True):
        super().__init__()
        c = check_config(config, POSTERIOR_CONFIG_DEFAULTS, "posterior", "<config>")
        if c["estimator"] not in ("maf", "nsf") or c["activation"] not in ("tanh", "relu"):
            raise FormatError(f"posterior config: estimator '{c['estimator']}' / activation "
                              f"'{c['activation']}' (supported: maf or nsf / tanh or relu)")
        if c["coupling"] and c["estimator"] != "nsf":
            raise FormatError("posterior config: coupling is an NSF layout")
        self.cfg = c
        d, k = c["theta_dim"], c["x_dim"]
        if c["coupling"]:
            self.blocks = nn.ModuleList(
                SplineCoupling(d, k, c["hidden_width"], c["made_blocks"], c["num_bins"],
                               c["tail_bound"], b % 2 == 0, c["activation"])
                for b in range(c["num_blocks"]))
        else:
            multiplier = 2 if c["estimator"] == "maf" else 3 * c["num_bins"] - 1
            self.blocks = nn.ModuleList(
                Made(d, k, c["hidden_width"], c["made_blocks"], multiplier, c["activation"])
                for _ in range(c["num_blocks"]))
            # Loading replaces these. A module built from a config alone
            # rotates by one, so that each block hands the lead to another
            # parameter (a MADE's first parameter is transformed without x;
            # docs/posterior.md).
            for b in range(c["num_blocks"]):
                self.register_buffer(f"permutation{b}",
                                     torch.roll(torch.arange(d, dtype=torch.float32), -1))
        f64 = torch.float64
        self.register_buffer("theta_mean", torch.zeros(d, dtype=f64))
        self.register_buffer("theta_std", torch.ones(d, dtype=f64))
        self.register_buffer("x_mean", torch.zeros(k, dtype=f64))
        self.register_buffer("x_std", torch.ones(k, dtype=f64))
        if training_range:
            self.register_buffer("x_train_min", torch.zeros(k, dtype=f64))
            self.register_buffer("x_train_max", torch.zeros(k, dtype=f64))
        self.register_buffer("prior_lower", torch.tensor(c["prior_lower"], dtype=f64),
                             persistent=False)
        self.register_buffer("prior_upper", torch.tensor(c["prior_upper"], dtype=f64),
                             persistent=False)
        if c["bounded_theta"] and not c["prior_lower"]:
            raise FormatError("posterior config: bounded_theta needs the prior box")

    @classmethod
    def load(cls, path, verify=True):
        """Reads a posterior model file (checksum verified); FamilyError for
        a file of another family, FormatError for an unknown config key or
        arrays that do not match the config."""
        mf = model_file.read_family(path, "posterior", verify=verify)
        return cls.from_model_file(mf, path)

    @classmethod
    def from_model_file(cls, mf, path="<memory>"):
        c = check_config(mf.config, POSTERIOR_CONFIG_DEFAULTS, "posterior", path)
        module = cls(c, training_range="x_train_min" in mf.normalization)
        module._init_file(mf, path)
        module._load_arrays(mf, path)
        d = c["theta_dim"]
        for b in range(0 if c["coupling"] else c["num_blocks"]):
            p = getattr(module, f"permutation{b}")
            if sorted(p.tolist()) != list(range(d)):
                raise FormatError(f"posterior model file '{path}': permutation{b} is not a "
                                  f"permutation of 0..{d - 1}")
        return module.eval()

    @property
    def dims(self):
        return self.cfg["theta_dim"], self.cfg["x_dim"]

    def _dtype(self):
        return self.blocks[0].final_bias.dtype if self.cfg["coupling"] else \
            self.blocks[0].context_weight.dtype

    def _device(self):
        return self.blocks[0].final_bias.device if self.cfg["coupling"] else \
            self.blocks[0].context_weight.device

    def _permutation(self, b):
        return getattr(self, f"permutation{b}").to(torch.long)

    def normalized_x(self, x):
        k = self.cfg["x_dim"]
        xt = as_tensor(x, torch.float64, self._device(), "x")
        if xt.dim() == 1:
            xt = xt.unsqueeze(0)
        if xt.dim() != 2 or xt.shape[1] != k:
            raise ValueError(f"posterior: x must be (N, {k}), got {tuple(xt.shape)}")
        return ((xt - self.x_mean) / self.x_std).to(self._dtype())

    def log_prob(self, theta, x):
        """log q(theta | x) in theta's units: theta (N, D); x (1, C) or
        (N, C). Differentiable in the parameters and in theta."""
        d = self.cfg["theta_dim"]
        t = as_tensor(theta, torch.float64, self._device(), "theta")
        if t.dim() != 2 or t.shape[1] != d:
            raise ValueError(f"posterior: theta must be (N, {d}), got {tuple(t.shape)}")
        c = self.normalized_x(x)
        if c.shape[0] not in (1, t.shape[0]):
            raise ValueError("posterior: x needs 1 or N rows")
        v, log_jacobian = self._to_unbounded(t)
        u = ((v - self.theta_mean) / self.theta_std).to(c.dtype)
        logdet = torch.zeros(u.shape[0], dtype=u.dtype, device=u.device)
        for b, made in enumerate(self.blocks):
            if self.cfg["coupling"]:
                u, lad = made(u, c)
                logdet = logdet + lad
                continue
            params = made(u, c).view(u.shape[0], d, -1)
            if self.cfg["estimator"] == "maf":
                scale = F.softplus(params[..., 0]) + 1e-3
                u = u * scale + params[..., 1]
                logdet = logdet + scale.log().sum(1)
            else:
                u, lad = rq_spline(u, params, False, self.cfg["tail_bound"])
                logdet = logdet + lad.sum(1)
            u = u[:, self._permutation(b)]
        lp = (-0.5 * u.pow(2).sum(1) - _HALF_LOG_2PI * d + logdet -
              self.theta_std.log().sum().to(u.dtype))
        if not self.cfg["bounded_theta"]:
            return lp
        inside = ((t > self.prior_lower) & (t < self.prior_upper)).all(1)
        return torch.where(inside, lp + log_jacobian.to(lp.dtype),
                           torch.full_like(lp, -math.inf))

    def _to_unbounded(self, t):
        """bounded_theta: logit((theta - lower) / (upper - lower)) and its
        log-Jacobian per row, kept finite next to a bound as the library
        does (core/posterior/posterior_flow.cpp)."""
        if not self.cfg["bounded_theta"]:
            return t, None
        width = self.prior_upper - self.prior_lower
        u = ((t - self.prior_lower) / width).clamp(torch.finfo(torch.float64).tiny,
                                                   1.0 - torch.finfo(torch.float64).eps / 2)
        log_u, log_1mu = torch.log(u), torch.log1p(-u)
        return log_u - log_1mu, (-torch.log(width) - log_u - log_1mu).sum(1)

    def _from_unbounded(self, v):
        if not self.cfg["bounded_theta"]:
            return v
        lo, hi = self.prior_lower, self.prior_upper
        theta = lo + (hi - lo) * torch.sigmoid(v)
        return torch.maximum(torch.minimum(theta, torch.nextafter(hi, lo)),
                             torch.nextafter(lo, hi))

    def forward(self, theta, x):
        return self.log_prob(theta, x)

    def from_latent(self, z, x):
        """Latent z (N, D) -> theta (N, D) float64 given x (1 or N rows),
        inverting each MADE column by column (D passes per block), each
        coupling in one pass."""
        c = self.normalized_x(x)
        u = as_tensor(z, self._dtype(), self._device(), "z")
        d = self.cfg["theta_dim"]
        maf = self.cfg["estimator"] == "maf"
        for b in reversed(range(len(self.blocks))):
            made = self.blocks[b]
            if self.cfg["coupling"]:
                u = made.inverse(u, c)
                continue
            u = u[:, torch.argsort(self._permutation(b))]
            out = torch.zeros_like(u)
            for i in range(d):
                p = made(out, c).view(u.shape[0], d, -1)[:, i]
                if maf:
                    col = (u[:, i] - p[:, 1]) / (F.softplus(p[:, 0]) + 1e-3)
                else:
                    col = rq_spline(u[:, i:i + 1], p.unsqueeze(1), True,
                                    self.cfg["tail_bound"])[0][:, 0]
                out = torch.cat([out[:, :i], col.unsqueeze(1), out[:, i + 1:]], dim=1)
            u = out
        return self._from_unbounded(u.to(torch.float64) * self.theta_std + self.theta_mean)

    def sample(self, x, n, generator=None, seed=None):
        """n draws of theta for each observation of x (G, C): (G, n, D)
        float64. The latent points come from `generator` (torch's default
        when None), or with `seed` (>= 1) from the library's own streams:
        observation g draws from a generator seeded with a splitmix64 of
        (seed, g, chunk), as gml_posterior_sample(..., seed) does, so the
        draws agree with the library's to rounding when this PyTorch's CPU
        generator is the library's."""
        c = as_tensor(x, torch.float64, self._device(), "x")
        if c.dim() == 1:
            c = c.unsqueeze(0)
        g, d, n = c.shape[0], self.cfg["theta_dim"], int(n)
        if seed is not None and generator is not None:
            raise ValueError("posterior sample: give generator or seed, not both")
        if seed is None:
            device = self._device() if generator is None else generator.device
            z = torch.randn(g * n, d, generator=generator, dtype=self._dtype(), device=device)
        else:
            parts = []
            for row in range(g):
                for chunk, first in enumerate(range(0, n, STREAM_CHUNK_ROWS)):
                    gen = torch.Generator().manual_seed(stream_seed(int(seed), row, chunk))
                    parts.append(torch.randn(min(STREAM_CHUNK_ROWS, n - first), d,
                                             generator=gen, dtype=torch.float32))
            z = torch.cat(parts) if parts else torch.zeros(0, d)
        theta = self.from_latent(z.to(self._device(), self._dtype()),
                                 c.repeat_interleave(n, dim=0))
        return theta.view(g, n, d)

    def outside_prior(self, theta):
        """Boolean mask of draws outside the prior box (all False when the
        prior is unbounded); theta (..., D)."""
        t = torch.as_tensor(theta, dtype=torch.float64)
        if self.prior_lower.numel() == 0:
            return torch.zeros(t.shape[:-1], dtype=torch.bool)
        return ((t < self.prior_lower.to(t.device)) | (t > self.prior_upper.to(t.device))).any(-1)
