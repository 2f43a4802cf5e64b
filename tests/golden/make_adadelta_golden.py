"""Golden trajectory of torch.optim.Adadelta (PyTorch's own implementation) on
a fixed quadratic-plus-quartic, for tests/common/test_adadelta.cpp.

    python tests/golden/make_adadelta_golden.py   # writes tests/golden/common/adadelta.json
"""
import json
import pathlib

import torch

torch.set_default_dtype(torch.float64)
p1 = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]], requires_grad=True)
p2 = torch.tensor([0.6, 0.2], requires_grad=True)
t1 = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
t2 = torch.tensor([0.0, 1.0])

a = p1.detach().clone().requires_grad_(True)
b = p2.detach().clone().requires_grad_(True)
opt = torch.optim.Adadelta([a, b], lr=0.9, rho=0.9, eps=1e-6, weight_decay=0.01)
traj = []
for step in range(80):
    opt.zero_grad()
    loss = (0.1 * ((a - t1) ** 2 * torch.tensor([[1.0, 4.0, 0.25]])).sum()
            + 0.3 * ((b - t2) ** 4).sum())
    loss.backward()
    opt.step()
    traj.append({"p1": a.detach().flatten().tolist(), "p2": b.detach().tolist()})

out = pathlib.Path(__file__).parent / "common" / "adadelta.json"
out.write_text(json.dumps({"torch_version": torch.__version__, "lr": 0.9, "rho": 0.9, "eps": 1e-6,
                           "weight_decay": 0.01, "trajectory": traj}, indent=1))
print("wrote", out)
