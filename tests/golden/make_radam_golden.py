"""Golden trajectories of torch.optim.RAdam and torch.optim.Adam (PyTorch's own
implementations) on a fixed quadratic, for tests/common/test_radam.cpp.

    python tests/golden/make_radam_golden.py   # writes tests/golden/common/radam.json
"""
import json
import pathlib

import torch

torch.set_default_dtype(torch.float64)
p1 = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]], requires_grad=True)
p2 = torch.tensor([0.6, 0.2], requires_grad=True)
t1 = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
t2 = torch.tensor([0.0, 1.0])


def trajectory(optimizer_class):
    a = p1.detach().clone().requires_grad_(True)
    b = p2.detach().clone().requires_grad_(True)
    opt = optimizer_class([a, b], lr=0.05, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    traj = []
    for step in range(60):
        opt.zero_grad()
        # Anisotropic, gently scaled: during RAdam's first steps (rho_t <= 5)
        # the update is raw momentum, so gradients must stay O(1).
        loss = (0.1 * ((a - t1) ** 2 * torch.tensor([[1.0, 4.0, 0.25]])).sum()
                + 0.3 * ((b - t2) ** 4).sum())
        loss.backward()
        opt.step()
        traj.append({"p1": a.detach().flatten().tolist(), "p2": b.detach().tolist()})
    return traj


out = pathlib.Path(__file__).parent / "common" / "radam.json"
out.write_text(json.dumps({"torch_version": torch.__version__, "lr": 0.05, "weight_decay": 0.01,
                           "trajectory": trajectory(torch.optim.RAdam),
                           "adam_trajectory": trajectory(torch.optim.Adam)}, indent=1))
print("wrote", out)
