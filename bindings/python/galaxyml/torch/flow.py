"""The flow family (GalacticFlow, docs/flow.md) as a PyTorch module.

    flow = galaxyml.torch.load("flow.h5")            # a FlowModule
    logp = flow.log_prob(stars, conditions)          # differentiable
    stars = flow.sample(conditions, n_per_galaxy=1000)
    flow.save("tuned.h5")

The network is that of core/flow: n blocks, each an LU linear layer
followed by a double rational-quadratic spline coupling whose parameters
are the product of an MLP of the other half of the data and an MLP of the
galaxy conditions; log10 columns and z-scores before it. Parameter and
buffer names are those of the model file (blocks.0.linear.lower, ...,
data_mean), so state_dict() holds exactly the file's arrays.
"""
import math

import torch
from torch import nn

from .. import model_file
from ..errors import FormatError
from ._base import GalaxymlModule, as_tensor, check_config
from ._spline import rq_spline

# Every key of core/flow/flow_config.cpp with its default.
FLOW_CONFIG_DEFAULTS = {
    "data_dim": 10, "condition_dim": 4, "num_blocks": 14, "num_bins": 10, "tail_bound": 3.0,
    "hidden_width": 128, "hidden_layers": 3, "leaky_relu_slope": 0.2,
    "conditioner_output_activation": False, "min_bin_width": 1e-3, "min_bin_height": 1e-3,
    "min_derivative": 1e-3, "log_columns": [], "condition_log_columns": [],
    "column_names": [], "condition_names": [],
}

# Rows per latent draw when sampling (the library's kDefaultChunkRows).
SAMPLE_CHUNK_ROWS = 65536

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LN10 = math.log(10.0)


def _mlp(n_in, n_out, c):
    layers = []
    width = n_in
    for i in range(c["hidden_layers"] + 1):
        last = i == c["hidden_layers"]
        layers.append(nn.Linear(width, n_out if last else c["hidden_width"]))
        if not last or c["conditioner_output_activation"]:
            layers.append(nn.LeakyReLU(c["leaky_relu_slope"]))
        width = c["hidden_width"]
    return nn.Sequential(*layers)


class Conditioner(nn.Module):
    """Spline parameters = data_net(other half) * condition_net(condition)."""

    def __init__(self, data_in, out, c):
        super().__init__()
        self.data_net = _mlp(data_in, out, c)
        self.condition_net = _mlp(c["condition_dim"], out, c)

    def forward(self, data, condition):
        return self.data_net(data) * self.condition_net(condition)


class LULinear(nn.Module):
    """W = P L (U + diag(sign_s exp(log_s))); log|det W| = sum(log_s)."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        m = dim * (dim - 1) // 2
        self.register_buffer("permutation", torch.eye(dim))
        self.register_buffer("sign_s", torch.ones(dim))
        self.lower = nn.Parameter(torch.zeros(m))
        self.upper = nn.Parameter(torch.zeros(m))
        self.log_s = nn.Parameter(torch.zeros(dim))

    def weight(self):
        d = self.dim
        li = torch.tril_indices(d, d, -1, device=self.lower.device)
        ui = torch.triu_indices(d, d, 1, device=self.upper.device)
        lower = torch.eye(d, dtype=self.lower.dtype, device=self.lower.device).index_put(
            (li[0], li[1]), self.lower)
        upper = torch.diag(self.sign_s.to(self.log_s.dtype) * self.log_s.exp()).index_put(
            (ui[0], ui[1]), self.upper)
        return self.permutation.to(lower.dtype) @ lower @ upper

    def forward(self, x):
        return x @ self.weight().t(), self.log_s.sum().expand(x.shape[0])

    def inverse(self, y):
        x = torch.linalg.solve(self.weight(), y.t()).t()
        return x, (-self.log_s.sum()).expand(y.shape[0])


class SplineCoupling(nn.Module):
    """x2 transformed given x1 (net `second`), then x1 given the new x2
    (net `first`); x1 is the first floor(D/2) columns."""

    def __init__(self, c):
        super().__init__()
        d = c["data_dim"]
        self.first_dim, self.second_dim = d // 2, d - d // 2
        per_dim = 3 * c["num_bins"] - 1
        self.second = Conditioner(self.first_dim, self.second_dim * per_dim, c)
        self.first = Conditioner(self.second_dim, self.first_dim * per_dim, c)
        self.spline = {k: float(c[k]) for k in ("tail_bound", "min_bin_width",
                                                "min_bin_height", "min_derivative")}

    def _couple(self, v, condition, inverse):
        halves = [v[:, :self.first_dim], v[:, self.first_dim:]]
        nets = [self.first, self.second]
        logdet = 0
        for k in ((0, 1) if inverse else (1, 0)):
            params = nets[k](halves[1 - k], condition).view(v.shape[0], halves[k].shape[1], -1)
            out, lad = rq_spline(halves[k], params, inverse, **self.spline)
            halves[k] = out
            logdet = logdet + lad.sum(-1)
        return torch.cat(halves, dim=1), logdet

    def forward(self, x, condition):
        return self._couple(x, condition, False)

    def inverse(self, y, condition):
        return self._couple(y, condition, True)


class FlowBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.linear = LULinear(c["data_dim"])
        self.coupling = SplineCoupling(c)

    def forward(self, x, condition):
        h, ld_linear = self.linear(x)
        y, ld_coupling = self.coupling(h, condition)
        return y, ld_linear + ld_coupling

    def inverse(self, y, condition):
        h, ld_coupling = self.coupling.inverse(y, condition)
        x, ld_linear = self.linear.inverse(h)
        return x, ld_linear + ld_coupling


def _column_forward(x, mean, std, log10):
    """log10 on flagged columns, then z-score: (values, log|det|, in_support)."""
    mask = log10.unsqueeze(0)
    bad = (x <= 0) & mask
    safe = torch.where(mask & (x > 0), x, torch.ones_like(x))
    logged = torch.where(mask, torch.log10(safe), x)
    log_jac = torch.where(mask, -torch.log(safe) - math.log(_LN10), torch.zeros_like(x)).sum(-1)
    s = std.to(x.dtype)
    return (logged - mean.to(x.dtype)) / s, log_jac - s.log().sum(), ~bad.any(-1)


def _column_inverse(u, mean, std, log10):
    mask = log10.unsqueeze(0)
    s = std.to(u.dtype)
    v = u * s + mean.to(u.dtype)
    x = torch.where(mask, torch.pow(10.0, torch.where(mask, v, torch.zeros_like(v))), v)
    log_jac = torch.where(mask, v * _LN10 + math.log(_LN10), torch.zeros_like(v)).sum(-1)
    return x, log_jac + s.log().sum()


class FlowModule(GalaxymlModule):
    """p(stars | galaxy conditions) of a galaxyml flow model file.

    Computes in the dtype of its parameters (float32 as stored; call
    .double() for float64). Buffers data_mean, data_std, data_log10,
    condition_mean, condition_std, condition_log10 hold the normalisation;
    condition_train_min/max the training range of the conditions, when the
    file has it."""

    family = "flow"

    def __init__(self, config, training_range=True):
        super().__init__()
        c = check_config(config, FLOW_CONFIG_DEFAULTS, "flow", "<config>")
        self.cfg = c
        self.blocks = nn.ModuleList(FlowBlock(c) for _ in range(c["num_blocks"]))
        d, k = c["data_dim"], c["condition_dim"]
        f64 = torch.float64
        self.register_buffer("data_mean", torch.zeros(d, dtype=f64))
        self.register_buffer("data_std", torch.ones(d, dtype=f64))
        self.register_buffer("data_log10", torch.zeros(d, dtype=torch.bool))
        self.register_buffer("condition_mean", torch.zeros(k, dtype=f64))
        self.register_buffer("condition_std", torch.ones(k, dtype=f64))
        self.register_buffer("condition_log10", torch.zeros(k, dtype=torch.bool))
        self.data_log10[list(c["log_columns"])] = True
        self.condition_log10[list(c["condition_log_columns"])] = True
        if training_range:
            self.register_buffer("condition_train_min", torch.zeros(k, dtype=f64))
            self.register_buffer("condition_train_max", torch.zeros(k, dtype=f64))

    @classmethod
    def load(cls, path, verify=True):
        """Reads a flow model file (checksum verified); FamilyError for a
        file of another family, FormatError for an unknown config key or
        arrays that do not match the config."""
        mf = model_file.read_family(path, "flow", verify=verify)
        return cls.from_model_file(mf, path)

    @classmethod
    def from_model_file(cls, mf, path="<memory>"):
        c = check_config(mf.config, FLOW_CONFIG_DEFAULTS, "flow", path)
        has_range = "condition_train_min" in mf.normalization
        module = cls(c, training_range=has_range)
        module._init_file(mf, path)
        module._load_arrays(mf, path)
        flags = (module.data_log10, module.condition_log10)
        expected = (c["log_columns"], c["condition_log_columns"])
        for f, cols in zip(flags, expected):
            if sorted(torch.nonzero(f).flatten().tolist()) != sorted(cols):
                raise FormatError(
                    f"flow model file '{path}': log10 flags disagree with the config")
        return module.eval()

    @property
    def dims(self):
        return self.cfg["data_dim"], self.cfg["condition_dim"]

    def _dtype(self):
        return self.blocks[0].linear.log_s.dtype

    def _device(self):
        return self.blocks[0].linear.log_s.device

    def normalized_conditions(self, conditions, rows):
        """Conditions (C), (1, C) or (rows, C) in user units -> z-scored."""
        c = as_tensor(conditions, self._dtype(), self._device(), "conditions")
        if c.dim() == 1:
            c = c.unsqueeze(0)
        k = self.cfg["condition_dim"]
        if c.dim() != 2 or c.shape[1] != k or c.shape[0] not in (1, rows):
            raise ValueError(f"flow: conditions must be ({k}), (1, {k}) or ({rows}, {k}), "
                             f"got {tuple(c.shape)}")
        values, _, ok = _column_forward(c, self.condition_mean, self.condition_std,
                                        self.condition_log10)
        if not bool(ok.all()):
            raise ValueError("flow: conditions have a non-positive value in a log10 column")
        return values

    def to_latent(self, stars, conditions):
        """stars (N, D) in user units -> (z, log|det dz/dx| (N), in_support (N))."""
        x = as_tensor(stars, self._dtype(), self._device(), "stars")
        d = self.cfg["data_dim"]
        if x.dim() != 2 or x.shape[1] != d:
            raise ValueError(f"flow: stars must be (N, {d}), got {tuple(x.shape)}")
        c = self.normalized_conditions(conditions, x.shape[0])
        u, logdet, ok = _column_forward(x, self.data_mean, self.data_std, self.data_log10)
        for block in self.blocks:
            u, ld = block(u, c)
            logdet = logdet + ld
        return u, logdet, ok

    def from_latent(self, z, conditions):
        """z (N, D) -> (stars in user units, log|det dx/dz| (N))."""
        u = as_tensor(z, self._dtype(), self._device(), "z")
        c = self.normalized_conditions(conditions, u.shape[0])
        logdet = torch.zeros(u.shape[0], dtype=u.dtype, device=u.device)
        for block in reversed(self.blocks):
            u, ld = block.inverse(u, c)
            logdet = logdet + ld
        x, ld = _column_inverse(u, self.data_mean, self.data_std, self.data_log10)
        return x, logdet + ld

    def log_prob(self, stars, conditions):
        """log p(star | galaxy) in the user's units, every Jacobian included:
        stars (N, D) float32 or float64, conditions (C), (1, C) or (N, C).
        -inf for stars outside the support (a log10 column <= 0)."""
        z, logdet, ok = self.to_latent(stars, conditions)
        lp = -0.5 * z.pow(2).sum(-1) - _HALF_LOG_2PI * z.shape[1] + logdet
        return torch.where(ok, lp, torch.full_like(lp, -math.inf))

    def forward(self, stars, conditions):
        return self.log_prob(stars, conditions)

    def sample(self, conditions, n_per_galaxy, generator=None):
        """n_per_galaxy stars for each galaxy of conditions (G, C), galaxy by
        galaxy: (G * n_per_galaxy, D). Differentiable with respect to the
        parameters (reparametrised); wrap in torch.no_grad() otherwise.

        The latent draws are taken from `generator` (torch's default when
        None) as the library takes them from its seed: galaxy by galaxy,
        chunks of SAMPLE_CHUNK_ROWS rows, each torch.randn((rows, D)). So
        generator=torch.Generator().manual_seed(s) with s >= 1 draws the
        latent points of gml_flow_sample(..., seed=s) when this PyTorch's
        CPU generator is the library's (the stars then agree to rounding)."""
        c = as_tensor(conditions, self._dtype(), self._device(), "conditions")
        if c.dim() == 1:
            c = c.unsqueeze(0)
        n = int(n_per_galaxy)
        device = self._device() if generator is None else generator.device
        out = []
        for g in range(c.shape[0]):
            for first in range(0, n, SAMPLE_CHUNK_ROWS):
                m = min(SAMPLE_CHUNK_ROWS, n - first)
                z = torch.randn(m, self.cfg["data_dim"], generator=generator,
                                dtype=self._dtype(), device=device).to(self._device())
                out.append(self.from_latent(z, c[g:g + 1])[0])
        if not out:
            return torch.zeros(0, self.cfg["data_dim"], dtype=self._dtype(),
                               device=self._device())
        return torch.cat(out)
