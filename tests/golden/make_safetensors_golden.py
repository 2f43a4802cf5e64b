"""A small safetensors file written by the reference implementation
(safetensors on PyPI), for tests/common/test_safetensors.cpp: every dtype
the reader supports, a scalar, an empty tensor and metadata, with the
values it must read back.

    pip install safetensors==0.8.0 torch
    python tests/golden/make_safetensors_golden.py
    # writes tests/golden/common/tiny.safetensors and tiny_safetensors.json
"""
import json
import pathlib

import torch
from safetensors.torch import save_file

g = torch.Generator().manual_seed(5)
tensors = {
    "unet.conv_in.weight": torch.randn(3, 2, 3, 3, generator=g),
    "text.embed": torch.randn(4, 5, generator=g).to(torch.float16),
    "vae.scale": torch.randn(7, generator=g).to(torch.bfloat16),
    "f64": torch.randn(2, 2, generator=g, dtype=torch.float64),
    "ids": torch.arange(-3, 3, dtype=torch.int64).reshape(2, 3),
    "i32": torch.tensor([1, -2, 2147483647], dtype=torch.int32),
    "i16": torch.tensor([-32768, 7], dtype=torch.int16),
    "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
    "mask": torch.tensor([[True, False], [False, True]]),
    "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 4),
}
metadata = {"format": "pt", "producer": "make_safetensors_golden.py"}
out = pathlib.Path(__file__).parent / "common"
save_file(tensors, str(out / "tiny.safetensors"), metadata=metadata)
expected = {name: {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                   "values": [float(v) for v in t.to(torch.float64).reshape(-1)]}
            for name, t in tensors.items()}
(out / "tiny_safetensors.json").write_text(json.dumps({"metadata": metadata,
                                                       "tensors": expected}, indent=1))
print("wrote", out / "tiny.safetensors")
